"""config_changes: who changed the job (or what it depends on), when, and what the change was."""

from __future__ import annotations

from bot.evidence import executions as ex
from bot.evidence.activity import container_diff, job_write_before, parse_activity, suspect
from bot.evidence.payloads import ChangeEvent, ConfigChangesEvidence, LastGood
from bot.evidence.rows import iso
from bot.evidence.sources import Sources
from bot.model import CheckResult, CheckStatus

NAME = "config_changes"
NEEDS = ("query:config_changes", "executions")  # the upstream reads it makes (prefetched together)
HEALTH_CATEGORIES = frozenset({"servicehealth", "resourcehealth"})


async def run(sources: Sources) -> CheckResult:
    """Activity Log changes of the last day joined with the template diff of last-good vs failing runs."""
    events = [e for e in parse_activity((await sources.query("config_changes")).rows)
              if e.category.lower() not in HEALTH_CATEGORIES]
    history = await sources.executions()
    failing = ex.failed(ex.in_window(history, sources.window))
    trouble_began = min((e.start for e in failing if e.start), default=None)
    last_good = ex.last_good_before(history, trouble_began)
    # Compare what last worked with what fails now; with no failing run, with what the job would run next.
    reference = failing[0].containers if failing else sources.job.containers
    diff = container_diff(last_good.containers, reference) if last_good else []
    write = job_write_before(sources.job, events, trouble_began)
    if not diff and write is not None:
        # A change can succeed a few times before it fails (a memory cut under light load): then the run
        # to go back to is the last good one before the change, not the last good one before the failures.
        earlier = ex.last_good_before(history, write.time)
        earlier_diff = container_diff(earlier.containers, reference) if earlier else []
        if earlier_diff:
            last_good, diff = earlier, earlier_diff
    suspected = suspect(sources.job, events, diff, trouble_began)

    data = ConfigChangesEvidence(
        changes=tuple(ChangeEvent(e.time, e.operation, e.caller, e.status, e.resource_id) for e in events[:10]),
        template_diff=tuple(diff),
        last_good=None if last_good is None else LastGood(last_good.name, last_good.image, last_good.start,
                                                          last_good.end),
        suspected_change=suspected,
    )
    writes = [e for e in events if e.succeeded]
    if suspected is not None:
        who = f" by {suspected.caller}" if suspected.caller else ""
        when = f" at {iso(suspected.time)}" if suspected.time else ""
        return CheckResult(NAME, CheckStatus.WARN, f"Changed{when}{who}: {suspected.what}.", data)
    if writes:
        return CheckResult(NAME, CheckStatus.OK,
                           f"{len(writes)} changes in the last day, none before the trouble began.", data)
    return CheckResult(NAME, CheckStatus.OK, "No change to the job or its environment in the last day.", data)
