"""`jobbot review JOB --diff --at TIME | --before FILE`: the review, plus the job then and now.

Reads (one round after the job, with the review's own): the job's ARM body now, Resource Graph's change
history, the Activity Log (config_changes.kql) and execution_durations.kql over both windows, and jobbot's own
snapshot. The before-state is the first of: --before FILE, a snapshot, Resource Graph undone, the last
execution's template (review.md §4). Anything missing becomes a "could not …" line; the review still stands.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.config import Config
from bot.errors import InvalidRequest, UpstreamError
from bot.evidence.change_diff import diff_json
from bot.evidence.change_evidence import change_records
from bot.evidence.sources import Readers, Sources, Tasks
from bot.intake import JobSpec
from bot.model import Job, Window
from bot.redact import MARKER
from bot.review import diff_before as bf
from bot.review.diff import SNAPSHOT_MASKED, DiffReport, compare_rules, who_of
from bot.review.diff_capacity import reaches_back, side
from bot.review.findings import ReviewReport
from bot.review.gather import gather
from bot.review.masking import mask_definition
from bot.review.reads import Read, read_within
from bot.review.service import SnapshotStore, judge, keep_snapshot

# Platform bookkeeping, not configuration: never "what changed".
_NOISE_KEYS = ("systemData", "etag", "resourceGroup")
_NOISE_PROPERTIES = ("provisioningState", "eventStreamEndpoint", "outboundIpAddresses")


ParseJob = Callable[[Mapping[str, Any]], Job]
_AGO = re.compile(r"(\d{1,4})([mhd])")
MAX_AGO = timedelta(days=90)  # Activity Log retention: nothing says who changed the job before that


@dataclass(frozen=True, slots=True)
class DiffRequest:
    at: str | None = None  # --at: an ISO time, or how long ago (36h, 3d)
    # --before FILE: its name as shown, its text (a saved `az containerapp job show`), or why it was unreadable
    before_name: str | None = None
    before_text: str | None = None
    before_error: str | None = None

    def moment(self, now: datetime) -> datetime | None:
        return None if self.at is None else parse_at(self.at, now)


def parse_at(text: str, now: datetime) -> datetime:
    """--at: '2026-12-03T08:00Z' or '3d' / '36h' / '90m' ago; in the past, at most 90 days back."""
    ago, moment = _at_form(text)
    if ago is not None:
        moment = now - ago
    assert moment is not None
    if not now - MAX_AGO <= moment < now:
        raise InvalidRequest(f"--at {text!r}: must be in the past, at most 90 days ago")
    return moment.astimezone(UTC)


def check_at(text: str) -> None:
    """Refuse an --at that is neither a time nor a span ago, before anything is read (the range is checked
    against the run's own clock: a scenario's, or the system's)."""
    _at_form(text)


def _at_form(text: str) -> tuple[timedelta | None, datetime | None]:
    ago = _AGO.fullmatch(text.strip().lower())
    if ago:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[ago.group(2)]
        return timedelta(**{unit: int(ago.group(1))}), None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"--at {text!r}: give a UTC time like 2026-12-03T08:00Z, or how long ago "
                             "like 36h or 3d") from None
    return None, moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def review_diff(spec: JobSpec, window: timedelta, request: DiffRequest, readers: Readers, clock: Clock,
                      config: Config, *, parse: ParseJob, snapshots: SnapshotStore | None = None
                      ) -> tuple[ReviewReport, DiffReport]:
    """Raises JobNotFound / UpstreamError for the job itself; everything after it ends up in the reports.
    `parse`: ARM job JSON -> Job (the adapter's parser, handed in: the core reads no SDK shapes itself)."""
    now = clock.now()
    span = Window(now - window, now)
    asked = request.moment(now)
    job = await readers.jobs.find_job(spec)
    at = asked if asked is not None else (job.last_modified_at if request.before_name else None)
    # The windows reach back twice the span at most: what the capacity block may compare.
    wide = Window(min(span.start, at - min(window, now - at)) if at is not None and at < now else span.start, now)
    deadline = config.check_deadline_s
    tasks: Tasks = {}
    own = Sources(job, wide, now, readers)
    try:
        reads = [asyncio.ensure_future(read_within(r, deadline * 2)) for r in (
            own.resource(job.ref.id), own.resource_changes(), own.query("config_changes"),
            own.query("execution_durations"), own.executions(),
            _snapshot(snapshots, job.ref.id, at) if at is not None else _none())]
        facts = await gather(job, span, now, readers, config, tasks)
        current, graph, activity, durations, history, snapshot = [await r for r in reads]
    finally:
        own.cancel()
        for task in tasks.values():
            task.cancel()
    report = judge(facts)
    if snapshots is not None and current.value is not None:
        await keep_snapshot(snapshots, job.ref.id, now, current.value)
    problems: list[str] = []
    before = _before(request, job, at, now, current, graph, history, snapshot, problems)
    if before is None:
        return report, DiffReport(at, None, "", problems=tuple(problems))
    assert current.value is not None  # every source but the file needs it, and the file path checks below
    theirs, ours = (mask_definition(before.body), mask_definition(current.value)) if before.masked else \
        (before.body, current.value)
    changes = diff_json(_comparable(theirs), _comparable(ours))
    # Masked on both sides, a rotated secret reads as unchanged: say so rather than imply "no difference".
    secret_like = ours != current.value or MARKER in json.dumps(theirs, default=str)
    uncompared = SNAPSHOT_MASKED if before.masked and secret_like else None
    then = _job_then(before.body, job, parse, problems)
    records = change_records(job, activity.value.rows if activity.value is not None else (),
                             graph_rows=graph.value or (), current=[current.value])
    who = who_of([r for r in records if r.resource_id.lower() == job.ref.id.lower()], at)
    # The windows meet at the first change recorded after the moment asked for (else at that moment).
    pivot = next((w.time for w in who if w.time is not None), at) if at is not None else None
    length = min(window, now - pivot) if pivot is not None and pivot < now else None
    rules: tuple[Any, ...] = ()
    capacity = None
    if then is not None:
        windows = (Window(pivot - length, pivot), Window(pivot, pivot + length)) if pivot and length else (span, span)
        rules = compare_rules(judge(replace(facts, job=then, window=windows[0])).findings,
                              judge(replace(facts, job=job, window=windows[1])).findings)
        if pivot is None or not length:
            problems.append("could not compare capacity: no change time (give --at TIME)")
        elif history.value is None:
            problems.append(f"could not compare capacity: executions unread ({history.error})")
        else:
            if durations.value is None:
                problems.append(f"could not read start-up times ({durations.error})")
            rows = durations.value.rows if durations.value is not None else ()
            rates = facts.settings.rates
            # ARM lists only the newest ~100 executions: a window the list does not reach back over would be
            # undercounted, so it gets no figures rather than wrong ones.
            sides = [side(state, w, history.value, rows, rates, now) if reaches_back(history.value, w) else None
                     for state, w in ((then, windows[0]), (job, windows[1]))]
            if None in sides:
                oldest = min(e.start for e in history.value if e.start is not None)
                problems.append(f"could not compare capacity: the execution history reaches back only to "
                                f"{oldest:%Y-%m-%d %H:%M} UTC")
            capacity = (sides[0], sides[1])
    if activity.value is None:
        problems.append(f"could not read the Activity Log for who and when ({activity.error})")
    return report, DiffReport(at, before.source, before.note, changes, rules, capacity, who, tuple(problems),
                              changed_at=pivot, secrets_uncompared=uncompared)


def _before(request: DiffRequest, job: Job, at: datetime | None, now: datetime, current: Read, graph: Read,
            history: Read, snapshot: Read, problems: list[str]) -> bf.Before | None:
    """The first before-state available, each one that was not said in `problems`."""
    if current.value is None:
        problems.append(f"could not read the job's definition now ({current.error})")
        return None
    if request.before_name is not None:
        if request.before_text is None:
            problems.append(f"could not read {request.before_name}: {request.before_error or 'no text'}")
            return None
        try:
            return bf.from_file(request.before_text, request.before_name, job.ref.id)
        except bf.Unreadable as why:
            problems.append(str(why))
            return None
    if at is None:
        problems.append("could not diff: give --at TIME or --before FILE")
        return None
    if snapshot.value is not None:
        taken, body = snapshot.value
        stale = bf.changed_between(graph.value or (), job.ref.id, taken, at)
        if stale is None:
            # "No change recorded" proves the snapshot only where Resource Graph was read and still remembers.
            unchecked = f"could not check the job for changes after jobbot's snapshot of {taken:%Y-%m-%d %H:%M} UTC"
            if graph.value is None:
                problems.append(f"{unchecked}: Resource Graph's change history unread ({graph.error})")
            elif taken < now - bf.GRAPH_HISTORY:
                problems.append(f"{unchecked}: it is older than the 14 days of change history Resource Graph keeps")
            return bf.Before(body, bf.BeforeSource.SNAPSHOT, f"jobbot's snapshot of {taken:%Y-%m-%d %H:%M} UTC",
                             masked=True)
        problems.append(f"could not use jobbot's snapshot of {taken:%Y-%m-%d %H:%M} UTC: the job changed after it, "
                        f"at {stale:%Y-%m-%d %H:%M} UTC")
    if snapshot.error:
        problems.append(f"could not read jobbot's snapshots ({snapshot.error})")
    if graph.value is not None:
        try:
            return bf.from_graph(current.value, graph.value, job.ref.id, at, now)
        except bf.Unreadable as why:
            problems.append(str(why))
    else:
        problems.append(f"could not read Resource Graph's change history ({graph.error})")
    if history.value is not None:
        try:
            return bf.from_executions(current.value, history.value, at)
        except bf.Unreadable as why:
            problems.append(str(why))
    else:
        problems.append(f"could not read the executions ({history.error})")
    problems.append(f"could not find the job as it was at {at:%Y-%m-%d %H:%M} UTC")
    return None


def _job_then(body: Mapping[str, Any], job: Job, parse: ParseJob, problems: list[str]) -> Job | None:
    try:
        return parse({**body, "id": job.ref.id, "name": job.ref.name})
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        problems.append(f"could not judge the before-state: {type(error).__name__}")
        return None


def _comparable(body: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in body.items() if k not in _NOISE_KEYS}
    props = out.get("properties")
    if isinstance(props, Mapping):
        out["properties"] = {k: v for k, v in props.items() if k not in _NOISE_PROPERTIES}
    return out


async def _snapshot(snapshots: SnapshotStore | None, job_id: str, at: datetime
                    ) -> tuple[datetime, dict[str, Any]] | None:
    if snapshots is None:
        return None
    try:
        found = await snapshots.at_or_before(job_id, at)
    except Exception as error:  # the store is an aid here: its fault costs the snapshot, not the diff
        raise UpstreamError(f"{type(error).__name__}: {error}") from None
    return None if found is None else (found.taken_at, found.definition)


async def _none() -> None:
    return None
