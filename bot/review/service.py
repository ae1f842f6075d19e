"""The review use case: job -> facts (one concurrent round of reads) -> rules -> scores -> report."""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import Awaitable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.clock import Clock
from bot.config import Config
from bot.errors import InvalidRequest
from bot.evidence.sources import Readers, Sources, Tasks
from bot.intake import JobSpec
from bot.model import Window
from bot.review.facts import Facts
from bot.review.findings import ReviewReport
from bot.review.gather import gather, prefetch
from bot.review.masking import mask_definition
from bot.review.rules import RULES
from bot.review.score import scores
from bot.review.spend import summary
from bot.telemetry.observe import observed_review

log = logging.getLogger(__name__)
DEFAULT_WINDOW = timedelta(days=7)
MAX_WINDOW = timedelta(days=30)  # review.md: the window is at most 30 d
_WINDOW = re.compile(r"(\d{1,4})([hd])")


def parse_window(text: str | None) -> timedelta:
    """'7d', '48h' -> timedelta (default 7d, at most 30d)."""
    if not text:
        return DEFAULT_WINDOW
    match = _WINDOW.fullmatch(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise InvalidRequest(f"'{text}' is not a review window: use hours or days like 48h or 7d (at most 30d).")
    amount = int(match.group(1))
    window = timedelta(hours=amount) if match.group(2) == "h" else timedelta(days=amount)
    if window > MAX_WINDOW:
        raise InvalidRequest("The review window can be at most 30d.")
    return window


def judge(facts: Facts) -> ReviewReport:
    """The pure half: every rule over the facts, then the scores and the cost block."""
    findings = tuple(r.evaluate(facts) for r in RULES)
    unread = tuple(f"{name}: {why}" for name, why in sorted(facts.unread.items()) if not why.startswith("n/a:"))
    return ReviewReport(facts.job.ref, facts.window, scores(findings), findings, summary(facts), unread)


@observed_review
async def review(spec: JobSpec, window: timedelta, readers: Readers, clock: Clock, config: Config, *,
                 snapshots: SnapshotStore | None = None) -> ReviewReport:
    """Raises JobNotFound / UpstreamError for the job itself; everything after it ends up in the report.
    `snapshots`: where to keep the job's definition as this review saw it, masked (for a later --diff)."""
    now = clock.now()
    span = Window(now - window, now)
    tasks: Tasks = {}
    # As a triage does: reads for the job as last seen start while it is looked up again (keyed by their
    # inputs, so a read for a job that changed is simply not used).
    remembered = readers.jobs.recall(spec)
    if remembered is not None:
        prefetch(Sources(remembered, span, now, readers, tasks), config.review_for(remembered.ref.name))
    definition = None
    try:
        job = await readers.jobs.find_job(spec)
        if snapshots is not None:  # the same memoised GET the change check makes: no extra round trip
            definition = asyncio.ensure_future(Sources(job, span, now, readers, tasks).resource(job.ref.id))
        facts = await gather(job, span, now, readers, config, tasks)
        if definition is not None and snapshots is not None:
            await keep_snapshot(snapshots, job.ref.id, now, definition)
    finally:
        for task in tasks.values():
            task.cancel()
    return judge(facts)


class SnapshotStore(Protocol):
    """jobbot's own masked snapshots of job definitions (bot.store.Snapshots)."""

    async def at_or_before(self, job_id: str, moment: datetime) -> Any: ...

    async def save(self, job_id: str, taken_at: datetime, definition: dict[str, Any]) -> None: ...


async def keep_snapshot(snapshots: SnapshotStore, job_id: str, now: datetime,
                        body: Awaitable[Mapping[str, Any]] | Mapping[str, Any]) -> None:
    """Store the job as this review saw it, masked; a read or store fault costs the snapshot, not the review."""
    try:
        found = await body if inspect.isawaitable(body) else body
        await snapshots.save(job_id, now, mask_definition(found))
    except asyncio.CancelledError:
        raise
    except Exception:
        log.warning("could not keep the review snapshot", extra={"job": job_id}, exc_info=True)
