"""config_changes: who changed the job (or what it depends on), when, and what the change was."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any

from bot.errors import JobbotError, NotApplicable
from bot.evidence import executions as ex
from bot.evidence.activity import container_diff, job_write_before, parse_activity, suspect
from bot.evidence.change_evidence import change_records, with_evidence
from bot.evidence.deadline import best_effort
from bot.evidence.payloads import ChangeEvent, ConfigChangesEvidence, LastGood
from bot.evidence.rows import iso
from bot.evidence.sources import Sources
from bot.model import CheckResult, CheckStatus

NAME = "config_changes"
# The upstream reads it makes (prefetched together).
# `resource:job`: the job as it is now, read from the start rather than after the Activity Log query.
NEEDS = ("query:config_changes", "executions", "changes:resourcegraph", "resource:job")
HEALTH_CATEGORIES = frozenset({"servicehealth", "resourcehealth"})


async def run(sources: Sources) -> CheckResult:
    """Activity Log changes of the last day joined with the template diff of last-good vs failing runs."""
    rows = (await sources.query("config_changes")).rows
    events = [e for e in parse_activity(rows) if e.category.lower() not in HEALTH_CATEGORIES]
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
    changed_at, changed_by = ((write.time, write.caller) if write is not None
                              else (sources.job.last_modified_at, sources.job.last_modified_by))
    graph_rows, current, unread = await _secondary(sources)
    records = change_records(sources.job, rows, graph_rows=graph_rows, current=current,
                             last_good=last_good.containers if last_good else None, reference=reference,
                             changed_at=changed_at, changed_by=changed_by)

    data = ConfigChangesEvidence(
        changes=tuple(ChangeEvent(e.time, e.operation, e.caller, e.status, e.resource_id) for e in events[:10]),
        template_diff=tuple(diff),
        last_good=None if last_good is None else LastGood(last_good.name, last_good.image, last_good.start,
                                                          last_good.end),
        suspected_change=None if suspected is None else with_evidence(suspected, records, sources.job.ref.id),
        records=records,
        trouble_began=trouble_began,
        unread=unread,
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


async def _secondary(sources: Sources) -> tuple[Sequence[Mapping[str, Any]], list[Mapping[str, Any]], tuple[str, ...]]:
    """Resource Graph change history and the job as it is now: better evidence when they answer in time, and
    a visible reason when they do not (the Activity Log and the templates still stand)."""
    unread: list[str] = []

    async def read(what: str, call: Awaitable[Any]) -> Any:
        try:
            found = await best_effort(call)
        except NotApplicable:
            return None
        except JobbotError as error:
            unread.append(f"{what}: {error}")
            return None
        if found is None:
            unread.append(f"{what}: no answer in time")
        return found

    graph, job = await asyncio.gather(read("change history (Resource Graph)", sources.resource_changes()),
                                      read("the job as it is now", sources.resource(sources.job.ref.id)))
    return graph or (), [job] if job else [], tuple(unread)
