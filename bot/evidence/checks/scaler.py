"""scaler: the KEDA scale rule cannot read its event source, so messages wait and nothing starts."""

from __future__ import annotations

import contextlib

from bot.errors import JobbotError
from bot.evidence import executions as ex
from bot.evidence.checks.signatures import signature_rows
from bot.evidence.deadline import best_effort
from bot.evidence.payloads import ScalerEvidence
from bot.evidence.sources import Sources
from bot.model import CheckResult, CheckStatus, Execution

NAME = "scaler"
NEEDS = ("query:platform_errors", "executions", "queue")  # the upstream reads it makes (prefetched together)


async def run(sources: Sources) -> CheckResult:
    """KEDAScalerFailed events, and work waiting while no execution starts."""
    found = await signature_rows(sources, "scaler")
    started: list[Execution] | None = None
    with contextlib.suppress(JobbotError):
        history = await best_effort(sources.executions())
        started = None if history is None else ex.in_window(history, sources.window)
    depth: int | None = None
    # When the depth is unknown the queue_depth check says why; the log evidence still stands.
    with contextlib.suppress(JobbotError):
        queue = await best_effort(sources.queue_depth())
        depth = None if queue is None else queue.depth
    data = ScalerEvidence(tuple(found), None if started is None else len(started), depth)
    if found:
        total = sum(f.count for f in found)
        first = found[0]
        return CheckResult(NAME, CheckStatus.FAIL, f"{total} scaler errors ({first.reason}): {first.message}", data)
    if started == [] and depth:
        return CheckResult(NAME, CheckStatus.WARN,
                           f"No execution started in the window while {depth} messages wait, and no scaler "
                           "error was logged.", data)
    return CheckResult(NAME, CheckStatus.OK, "No scaler errors.", data)
