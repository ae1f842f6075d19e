"""The evidence-pack use case: the review's own reads (one concurrent round after the job), plus the pack's
two — the job's ARM definition, started with that round, and N days of Activity Log once the workspace is
known — with every upstream request noted for the manifest; then the pure builder (`bot.review.pack`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from bot.clock import Clock
from bot.config import Config
from bot.errors import InvalidRequest, NotApplicable, UpstreamError
from bot.evidence.activity_scope import rows_concerning
from bot.evidence.sources import Readers, Sources, Tasks
from bot.intake import JobSpec
from bot.model import Window
from bot.review.findings import ReviewReport
from bot.review.gather import gather
from bot.review.pack import MAX_DAYS, PackInputs, build_pack
from bot.review.reads import Read, read_within
from bot.review.service import judge
from bot.telemetry.requests import recording

DEFAULT_DAYS = 30
ACTIVITY_QUERY = "config_changes"  # the triage's own Activity Log query, over the pack's N days
_DAYS = re.compile(r"([0-9]{1,3})d?")

# jobbot's audit entries for a job name (each a mapping: at, actor, channel, action, target, detail, outcome).
AuditSource = Callable[[str], Awaitable[Sequence[Mapping[str, Any]]]]


def parse_days(text: str | int | None) -> int:
    """'30', '30d' or 30 -> 30 (default 30; 1 to 90, the Activity Log's retention)."""
    if text is None or text == "":
        return DEFAULT_DAYS
    match = _DAYS.fullmatch(str(text).strip().lower())
    days = int(match.group(1)) if match else 0
    if not 1 <= days <= MAX_DAYS:
        raise InvalidRequest(f"'{text}' is not a number of days for the evidence pack: use 1 to {MAX_DAYS} "
                             f"(the Activity Log keeps {MAX_DAYS} days), e.g. --days 30.")
    return days


async def _activity(sources: Sources, readers: Readers, days: int) -> Sequence[Mapping[str, Any]]:
    """The Activity Log of the job and what it depends on over `days`, from the workspace's AzureActivity."""
    setup = await sources.log_setup()
    ids, names = sources.change_targets()
    span = Window(sources.now - timedelta(days=days), sources.now)
    subscription = sources.job.ref.subscription
    params = {"resource_ids": ids, "related": names, "subscription_ids": [subscription],
              "start": span.start, "end": span.end}
    result = await readers.logs.query(setup.workspace_id, ACTIVITY_QUERY, params, span)
    if result.partial:
        raise UpstreamError(f"Log Analytics answered only part of the Activity Log: {result.partial}")
    return rows_concerning(result, ids, names, subscription).rows  # the query may batch with other jobs


async def _diagnostic_settings(sources: Sources) -> Mapping[str, Any]:
    """The managed environment's diagnostic settings (where its logs are exported), as ARM lists them."""
    if not sources.job.environment_id:
        raise NotApplicable("the job names no managed environment")
    return await sources.resource(f"{sources.job.environment_id}/providers/Microsoft.Insights/diagnosticSettings")


async def evidence_pack(spec: JobSpec, window: timedelta, days: int, readers: Readers, clock: Clock, config: Config,
                        *, reader: Mapping[str, str], audit: AuditSource | None = None,
                        secrets: tuple[str, ...] = ()) -> tuple[ReviewReport, dict[str, bytes]]:
    """The review report and the pack's files. Raises JobNotFound / UpstreamError for the job itself."""
    deadline = config.check_deadline_s
    with recording(clock) as requests:
        now = clock.now()
        span = Window(now - window, now)
        tasks: Tasks = {}
        job = await readers.jobs.find_job(spec)
        # Its own memo: the review's reads are cancelled when the review is done, the pack's go on.
        own = Sources(job, span, now, readers)
        try:
            definition = asyncio.ensure_future(read_within(own.resource(job.ref.id), deadline))
            diagnostics = asyncio.ensure_future(read_within(_diagnostic_settings(own), deadline))
            facts = await gather(job, span, now, readers, config, tasks)
            activity = await read_within(_activity(own, readers, days), deadline)
            body, settings = await definition, await diagnostics
        finally:
            own.cancel()
            for task in tasks.values():
                task.cancel()
    entries = Read(error="this jobbot has no store to read its audit trail from")
    if audit is not None:
        entries = await read_within(audit(job.ref.name), deadline)
    unread = {name: read.error for name, read in (("job definition", body), ("activity log", activity),
                                                  ("diagnostic settings", settings), ("audit trail", entries))
              if read.error}
    report = judge(facts)
    entry = config.job(job.ref.name)
    files = build_pack(PackInputs(
        report=report, facts=facts, days=days, reader=reader, requests=tuple(requests.attempts),
        job_definition=body.value, activity_rows=activity.value, audit_entries=entries.value,
        diagnostic_settings=settings.value,
        runbooks=dict(entry.runbooks) if entry else {}, unread=unread, secrets=secrets))
    return report, files
