"""The triage use case: job -> evidence (concurrent checks) -> verdict -> report."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from datetime import timedelta

from bot.clock import Clock
from bot.config import Config
from bot.evidence.limiter import Priority
from bot.evidence.limiter import priority as queue_priority
from bot.evidence.registry import CHECKS, Check
from bot.evidence.runner import OnResult, run_checks
from bot.evidence.shared_reads import Reading, reading
from bot.evidence.sources import Readers, Sources, Tasks
from bot.intake import JobSpec
from bot.model import Job, Owners, TriageReport, Window
from bot.runbooks import runbook_for
from bot.telemetry.observe import observed_triage
from bot.verdict.decide import decide

DEFAULT_DEADLINE_S = 4.0


def describe_window(since: timedelta) -> str:
    hours, rest = divmod(int(since.total_seconds()), 3600)
    if rest == 0 and hours == 1:
        return "in the last hour"
    if rest == 0 and hours % 24 == 0:
        return f"in the last {hours // 24} d"
    if rest == 0:
        return f"in the last {hours} h"
    return f"in the last {int(since.total_seconds()) // 60} min"


@observed_triage
async def triage(
    spec: JobSpec,
    since: timedelta,
    readers: Readers,
    clock: Clock,
    *,
    deadline_s: float = DEFAULT_DEADLINE_S,
    checks: Sequence[Check] = CHECKS,
    config: Config | None = None,
    on_job: Callable[[Job], Awaitable[None]] | None = None,
    on_result: OnResult | None = None,
    fresh: bool = False,
    priority: Priority = Priority.INTERACTIVE,
    listed: Job | None = None,
) -> TriageReport:
    """Gather the evidence for one job and conclude. Raises JobNotFound / UpstreamError for the job itself.

    `fresh`: read everything anew rather than reuse what another triage read moments ago. `priority`: in
    jobbot's own upstream queues, a person's triage goes before an alert's. `listed`: the job as a listing
    just returned it (`jobbot status`), used as it is rather than looked up again."""
    with _reads(readers, spec, clock, fresh) as scope, queue_priority(priority):
        return await _triage(spec, since, readers, scope, deadline_s=deadline_s, checks=checks, config=config,
                             on_job=on_job, on_result=on_result, listed=listed)


def _reads(readers: Readers, spec: JobSpec, clock: Clock, fresh: bool) -> AbstractContextManager[Reading]:
    # Behind the shared layer the window end may be an earlier triage's (see bot.evidence.shared_reads).
    if readers.shared is not None:
        return readers.shared.triage(spec, clock, fresh=fresh)
    return reading(clock.now(), clock)


async def _triage(
    spec: JobSpec,
    since: timedelta,
    readers: Readers,
    scope: Reading,
    *,
    deadline_s: float,
    checks: Sequence[Check],
    config: Config | None,
    on_job: Callable[[Job], Awaitable[None]] | None,
    on_result: OnResult | None,
    listed: Job | None = None,
) -> TriageReport:
    now = scope.now
    window = Window(now - since, now)
    # The workspace's ARM id (for Log Analytics links) is located beside the queries, never before them.
    needs = {need for check in checks for need in check.needs} | {"workspace"}
    tasks: Tasks = {}
    # Start the reads for the job as last seen while it is looked up again; reads keyed by what changed
    # (another id, another environment) are simply not used.
    remembered = readers.jobs.recall(spec) if listed is None else None
    if remembered is not None:
        Sources(remembered, window, now, readers, tasks).prefetch(needs)
    try:
        job = listed if listed is not None else await readers.jobs.find_job(spec)
        if on_job is not None:
            await on_job(job)
        sources = Sources(job, window, now, readers, tasks)
        sources.prefetch(needs)
        results = await run_checks(checks, sources, deadline_s, on_result)
    finally:
        for task in tasks.values():
            task.cancel()
    label = describe_window(since)
    verdict = decide(results, label)
    entry = (config or Config()).job(job.ref.name)
    workspace = sources.workspace_resource_id()
    runbook = runbook_for(job, verdict, window, label, entry.runbooks if entry else None,
                          logs_link=workspace is not None)
    owners = (config or Config()).owners_for(job.ref.name, job.tags) \
        or Owners(None, (), fallback=(config or Config()).alert_channel)
    queries = _in_check_order(sources.rendered, checks)
    return TriageReport(job.ref, window, verdict, results, runbook, owners, queries, workspace,
                        evidence_read_at=scope.evidence_read_at())


def _in_check_order(rendered: dict[str, str], checks: Sequence[Check]) -> dict[str, str]:
    # Checks finish in any order; what the report shows (its query links) must not depend on it.
    order = dict.fromkeys(n.partition(":")[2] for c in checks for n in c.needs if n.startswith("query:"))
    return {name: rendered[name] for name in [*order, *sorted(rendered)] if name in rendered}
