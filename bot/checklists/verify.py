"""The bot's own read-only verification of a rollback: each check returns its evidence in words.

    image        the job's template now names the target image (ARM GET of the job)
    config       the reverted properties hold their values from before the change again (ARM GET of the job,
                 or of what it depends on: environment, Key Vault, registry …)
    access       a deleted role assignment exists again (the identity's role assignments, read)
    executions   executions started after the rollback (on the target image, if any) succeed
    queue        the event source drains: below its depth when the checklist opened (or empty)

The judgements are pure functions of what was read; `verify` does the reads through the evidence
ports (GETs only, each under a deadline) and turns a failed read into an `unknown` finding with the
reason, so a flaky upstream leaves the step open instead of crashing the click.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from bot.checklists.model import Check, Checklist, Finding, FindingState, Revert
from bot.checklists.reverts import (
    assignment_found,
    deleted_assignment,
    is_back,
    is_role_assignment,
    unreadable_value,
    value_at,
)
from bot.errors import JobbotError, NotApplicable, ResourceNotFound
from bot.evidence import executions as ex
from bot.evidence.change_kinds import BUILT_IN_ROLES
from bot.evidence.sources import Readers
from bot.intake import JobSpec
from bot.model import Execution, Job, QueueDepth
from bot.text import utc_minute

DEADLINE_S = 8.0
T = TypeVar("T")


def image_finding(job: Job, target: str) -> Finding:
    images = [c.image for c in job.containers]
    if target in images:
        return Finding("image", FindingState.PASS, f"The job's template runs `{target}` (ARM GET of the job).")
    now = ", ".join(f"`{i}`" for i in images) or "no container"
    return Finding("image", FindingState.FAIL, f"The job's template still runs {now}, not `{target}` (ARM GET of the "
                                               "job).")


def executions_finding(history: Sequence[Execution], since: datetime, target: str | None) -> Finding:
    """Executions started since `since` succeed: on the target image for an image rollback, on any image
    for a revert of configuration or access (`target` None)."""
    new = [e for e in ex.newest_first(history) if e.start is not None and e.start >= since]
    when = utc_minute(since)
    if not new:
        return Finding("executions", FindingState.WAITING, f"No execution has started since {when} yet.")
    on_target = [e for e in new if target is None or e.image == target]
    others = len(new) - len(on_target)
    elsewhere = f"; {others} started on another image" if others else ""
    on = f" on `{target}`" if target else ""
    failed = ex.failed(on_target)
    if failed:
        names = ", ".join(f"`{e.name}`" for e in failed[:3])
        return Finding("executions", FindingState.FAIL,
                       f"{len(failed)} of {len(on_target)} executions{on} since {when} failed ({names}){elsewhere}.")
    good = ex.succeeded(on_target)
    running = len(ex.active(on_target))
    if good:
        newest = good[0]
        return Finding("executions", FindingState.PASS,
                       f"{len(good)} executions{on} since {when} succeeded, none failed"
                       f"{f', {running} running' if running else ''} (newest `{newest.name}`"
                       f"{f' at {utc_minute(newest.start)}' if newest.start else ''}){elsewhere}.")
    return Finding("executions", FindingState.WAITING,
                   f"{len(on_target)} executions{on} since {when}, none finished yet{elsewhere}.")


REVERTS_SHOWN = 5


def config_finding(resource: str, body: Mapping[str, Any], reverts: Sequence[Revert]) -> Finding:
    """The resource as read now against the values from before the change."""
    name = _last_part(resource)
    if any(r.path == "" for r in reverts):
        return Finding("config", FindingState.PASS, f"`{name}` exists again (ARM GET).")
    readable = [r for r in reverts if not unreadable_value(r)]
    unread = len(reverts) - len(readable)
    secret = (f"; {unread} secret or env value{'s' if unread > 1 else ''} not checked (jobbot never reads them)"
              if unread else "")
    if not readable:
        return Finding("config", FindingState.NOT_APPLICABLE,
                       f"Cannot verify `{name}`: the change was to secret or env values, which jobbot never reads; "
                       "judged by the executions.")
    back = [(r, value_at(body, r.path)) for r in readable]
    missing = [(r, now) for r, now in back if not is_back(now, r.before)]
    if missing:
        lines = [f"`{_path(r.path)}` is {_value(now)}, not {_value(r.before)}" for r, now in missing[:REVERTS_SHOWN]]
        more = f" (+{len(missing) - REVERTS_SHOWN} more)" if len(missing) > REVERTS_SHOWN else ""
        return Finding("config", FindingState.FAIL,
                       f"`{name}` is not back yet: {'; '.join(lines)}{more} (ARM GET){secret}.")
    lines = [f"`{_path(r.path)}` is {_value(r.before)}" for r, _ in back[:REVERTS_SHOWN]]
    more = f" (+{len(back) - REVERTS_SHOWN} more)" if len(back) > REVERTS_SHOWN else ""
    return Finding("config", FindingState.PASS,
                   f"`{name}` is back as before the change: {'; '.join(lines)}{more} (ARM GET){secret}.")


def access_finding(assignments: Sequence[Mapping[str, Any]], principal: str, role: str, scope: str) -> Finding:
    """The deleted role assignment (role, principal, scope) exists again, directly or inherited."""
    role_name = BUILT_IN_ROLES.get(role.rstrip("/").rsplit("/", 1)[-1].lower()) or _last_part(role)
    where = f"`{_last_part(scope)}`" if scope else "its scope"
    if assignment_found(assignments, principal, role, scope):
        return Finding("access", FindingState.PASS,
                       f"`{role_name}` is assigned to `{principal}` on {where} again (role assignments read).")
    return Finding("access", FindingState.FAIL,
                   f"No assignment of `{role_name}` to `{principal}` on {where} yet ({len(assignments)} role "
                   "assignments read).")


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
    """Run the checks for the checklist's target and reverts, with reads only."""
    target = checklist.target.image
    ref = checklist.job
    try:
        # With the resource group known this is one ARM GET of the job, not a search.
        job = await _within(readers.jobs.find_job(JobSpec(ref.name, ref.resource_group, ref.subscription)),
                            deadline_s)
    except (JobbotError, TimeoutError) as error:
        reason = _reason(error, deadline_s)
        first = "image" if target else "config"
        return Check(now, (Finding(first, FindingState.UNKNOWN, f"Could not read the job: {reason}"),
                           Finding("executions", FindingState.UNKNOWN, "Not checked: the job could not be read."),
                           Finding("queue", FindingState.UNKNOWN, "Not checked: the job could not be read.")))
    since = checklist.applied_at or checklist.opened_at
    executions, queue, reverted = await asyncio.gather(_executions(readers, job, since, target, deadline_s),
                                                       _queue(readers, job, checklist, deadline_s),
                                                       _reverts(readers, checklist.reverts, deadline_s))
    image = (image_finding(job, target),) if target else ()
    return Check(now, (*image, *reverted, executions, queue))


async def _reverts(readers: Readers, reverts: Sequence[Revert], deadline_s: float) -> tuple[Finding, ...]:
    """One finding per changed resource (in the order the reverts name them), read concurrently."""
    by_resource: dict[str, list[Revert]] = {}
    for revert in reverts:
        by_resource.setdefault(revert.resource, []).append(revert)
    return tuple(await asyncio.gather(*(_revert_finding(readers, resource, items, deadline_s)
                                        for resource, items in by_resource.items())))


async def _revert_finding(readers: Readers, resource: str, reverts: Sequence[Revert], deadline_s: float) -> Finding:
    name = "access" if is_role_assignment(resource) else "config"
    try:
        if name == "access":
            wanted = deleted_assignment(reverts)
            if wanted is None:
                return Finding(name, FindingState.NOT_APPLICABLE,
                               "Cannot verify the role assignment: its principal and role are not recorded.")
            principal, role, scope = wanted
            assignments = await _within(readers.changes.role_assignments([principal], [scope] if scope else []),
                                        deadline_s)
            return access_finding(assignments, principal, role, scope)
        body = await _within(readers.changes.resource(resource), deadline_s)
        return config_finding(resource, body, reverts)
    except ResourceNotFound:
        return Finding(name, FindingState.FAIL, f"`{_last_part(resource)}` does not exist (ARM GET answered 404).")
    except NotApplicable as error:
        return Finding(name, FindingState.NOT_APPLICABLE,
                       f"Cannot verify `{_last_part(resource)}`: {str(error).rstrip('.')}; judged by the executions.")
    except (JobbotError, TimeoutError) as error:
        return Finding(name, FindingState.UNKNOWN, f"Could not read `{_last_part(resource)}`: "
                                                   f"{_reason(error, deadline_s)}")


async def _executions(readers: Readers, job: Job, since: datetime, target: str | None,
                      deadline_s: float) -> Finding:
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


def _last_part(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def _path(path: str) -> str:
    return path.removeprefix("properties.")


def _value(value: Any) -> str:
    if value is None:
        return "absent"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    return f"`{text if len(text) <= 80 else text[:79] + '…'}`"
