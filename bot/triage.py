"""The triage use case: job -> evidence (concurrent checks) -> verdict -> report."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from bot.clock import Clock
from bot.config import Config
from bot.evidence.registry import CHECKS, Check
from bot.evidence.runner import OnResult, run_checks
from bot.evidence.sources import Readers, Sources, Tasks
from bot.intake import JobSpec
from bot.model import Job, Owners, TriageReport, Window
from bot.owners import resolve_owners
from bot.runbooks import runbook_for
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
) -> TriageReport:
    """Gather the evidence for one job and conclude. Raises JobNotFound / UpstreamError for the job itself."""
    now = clock.now()
    window = Window(now - since, now)
    needs = {need for check in checks for need in check.needs}
    tasks: Tasks = {}
    # Start the reads for the job as last seen while it is looked up again; reads keyed by what changed
    # (another id, another environment) are simply not used.
    remembered = readers.jobs.recall(spec)
    if remembered is not None:
        Sources(remembered, window, now, readers, tasks).prefetch(needs)
    try:
        job = await readers.jobs.find_job(spec)
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
    runbook = runbook_for(job, verdict, window, label, entry.runbooks if entry else None)
    owners = resolve_owners(job.tags, entry.owners if entry else None, (config or Config()).directory) \
        or Owners(None, (), fallback=(config or Config()).alert_channel)
    queries = _in_check_order(sources.rendered, checks)
    return TriageReport(job.ref, window, verdict, results, runbook, owners, queries, sources.workspace_resource_id())


def _in_check_order(rendered: dict[str, str], checks: Sequence[Check]) -> dict[str, str]:
    # Checks finish in any order; what the report shows (its query links) must not depend on it.
    order = dict.fromkeys(n.partition(":")[2] for c in checks for n in c.needs if n.startswith("query:"))
    return {name: rendered[name] for name in [*order, *sorted(rendered)] if name in rendered}
