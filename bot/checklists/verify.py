"""The bot's own read-only verification of a rollback: each check returns its evidence in words.

    image        the job's template now names the target image (ARM GET of the job)
    executions   executions started after the rollback run the target image and succeed
    queue        the event source drains: below its depth when the checklist opened (or empty)

The judgements are pure functions of what was read; `verify` does the reads through the evidence
ports (GETs only, each under a deadline) and turns a failed read into an `unknown` finding with the
reason, so a flaky upstream leaves the step open instead of crashing the click.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from bot.checklists.model import Check, Checklist, Finding, FindingState
from bot.errors import JobbotError, NotApplicable
from bot.evidence import executions as ex
from bot.evidence.sources import Readers
from bot.intake import JobSpec
from bot.model import Execution, Job, QueueDepth

DEADLINE_S = 8.0
T = TypeVar("T")


def image_finding(job: Job, target: str) -> Finding:
    images = [c.image for c in job.containers]
    if target in images:
        return Finding("image", FindingState.PASS, f"The job's template runs `{target}` (ARM GET of the job).")
    now = ", ".join(f"`{i}`" for i in images) or "no container"
    return Finding("image", FindingState.FAIL, f"The job's template still runs {now}, not `{target}` (ARM GET of the "
                                               "job).")


def executions_finding(history: Sequence[Execution], since: datetime, target: str) -> Finding:
    new = [e for e in ex.newest_first(history) if e.start is not None and e.start >= since]
    when = _time(since)
    if not new:
        return Finding("executions", FindingState.WAITING, f"No execution has started since {when} yet.")
    on_target = [e for e in new if e.image == target]
    others = len(new) - len(on_target)
    elsewhere = f"; {others} started on another image" if others else ""
    failed = ex.failed(on_target)
    if failed:
        names = ", ".join(f"`{e.name}`" for e in failed[:3])
        return Finding("executions", FindingState.FAIL,
                       f"{len(failed)} of {len(on_target)} executions on `{target}` since {when} failed ({names})"
                       f"{elsewhere}.")
    good = ex.succeeded(on_target)
    running = len(ex.active(on_target))
    if good:
        newest = good[0]
        return Finding("executions", FindingState.PASS,
                       f"{len(good)} executions on `{target}` since {when} succeeded, none failed"
                       f"{f', {running} running' if running else ''} (newest `{newest.name}`"
                       f"{f' at {_time(newest.start)}' if newest.start else ''}){elsewhere}.")
    return Finding("executions", FindingState.WAITING,
                   f"{len(on_target)} executions on `{target}` since {when}, none finished yet{elsewhere}.")


def queue_finding(depth: QueueDepth, baseline: int | None, capacity: int | None) -> Finding:
    where = f"`{depth.namespace}/{depth.entity}`"
    dead = f"; {depth.dead_letter} dead-lettered" if depth.dead_letter else ""
    if depth.depth == 0:
        return Finding("queue", FindingState.PASS, f"{where} is empty{dead}.")
    if baseline is not None:
        if depth.depth < baseline:
            return Finding("queue", FindingState.PASS,
                           f"{where} holds {depth.depth} messages, down from {baseline} when the checklist opened"
                           f"{dead}.")
        return Finding("queue", FindingState.FAIL,
                       f"{where} holds {depth.depth} messages, not below the {baseline} when the checklist opened"
                       f"{dead}.")
    if capacity is not None and depth.depth <= capacity:
        return Finding("queue", FindingState.PASS,
                       f"{where} holds {depth.depth} messages, within one round of capacity ({capacity}){dead}.")
    if capacity is not None:
        return Finding("queue", FindingState.FAIL,
                       f"{where} holds {depth.depth} messages, more than one round of capacity ({capacity}){dead}.")
    return Finding("queue", FindingState.WAITING,
                   f"{where} holds {depth.depth} messages; its depth when the checklist opened is unknown, so this "
                   f"passes once it is empty{dead}.")


async def verify(readers: Readers, checklist: Checklist, now: datetime, *, deadline_s: float = DEADLINE_S) -> Check:
    """Run the three checks for the checklist's target, with reads only."""
    target = checklist.target.image
    ref = checklist.job
    try:
        # With the resource group known this is one ARM GET of the job, not a search.
        job = await _within(readers.jobs.find_job(JobSpec(ref.name, ref.resource_group, ref.subscription)),
                            deadline_s)
    except (JobbotError, TimeoutError) as error:
        reason = _reason(error, deadline_s)
        return Check(now, (Finding("image", FindingState.UNKNOWN, f"Could not read the job: {reason}"),
                           Finding("executions", FindingState.UNKNOWN, "Not checked: the job could not be read."),
                           Finding("queue", FindingState.UNKNOWN, "Not checked: the job could not be read.")))
    since = checklist.applied_at or checklist.opened_at
    executions, queue = await asyncio.gather(_executions(readers, job, since, target, deadline_s),
                                             _queue(readers, job, checklist, deadline_s))
    return Check(now, (image_finding(job, target), executions, queue))


async def _executions(readers: Readers, job: Job, since: datetime, target: str, deadline_s: float) -> Finding:
    try:
        history = await _within(readers.jobs.executions(job.ref), deadline_s)
    except (JobbotError, TimeoutError) as error:
        return Finding("executions", FindingState.UNKNOWN, f"Could not read the executions: "
                                                           f"{_reason(error, deadline_s)}")
    return executions_finding(history, since, target)


async def _queue(readers: Readers, job: Job, checklist: Checklist, deadline_s: float) -> Finding:
    if not job.rules:
        return Finding("queue", FindingState.NOT_APPLICABLE, "The job has no event scale rule: no queue to watch.")
    try:
        depth = await _within(readers.queues.depth(job, job.rules[0]), deadline_s)
    except NotApplicable as error:
        return Finding("queue", FindingState.NOT_APPLICABLE, f"Queue not measured: {error}")
    except (JobbotError, TimeoutError) as error:
        return Finding("queue", FindingState.UNKNOWN, f"Could not read the queue: {_reason(error, deadline_s)}")
    return queue_finding(depth, checklist.queue_baseline, checklist.queue_capacity)


async def _within(awaitable: Awaitable[T], deadline_s: float) -> T:
    return await asyncio.wait_for(awaitable, deadline_s)


def _reason(error: BaseException, deadline_s: float) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer within {deadline_s:g} s."
    return str(error).rstrip(".") + "."


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
