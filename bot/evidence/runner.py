"""Run checks concurrently, each under its own deadline; a failing check is a finding, never a crash."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from bot.errors import NotApplicable, UpstreamError
from bot.evidence.deadline import set_deadline
from bot.evidence.limiter import CheckWaits, check_waits
from bot.evidence.registry import Check
from bot.evidence.sources import Sources
from bot.model import CheckResult, CheckStatus
from bot.telemetry.tracing import span

log = logging.getLogger(__name__)


OnResult = Callable[[CheckResult], Awaitable[None]]
MIN_LOOK_S = 0.05  # how often a check whose reads are queued looks at its deadline again


async def run_checks(
    checks: Sequence[Check], sources: Sources, deadline_s: float, on_result: OnResult | None = None
) -> tuple[CheckResult, ...]:
    """All checks at once; `on_result` hears each one as it finishes (a message filling in)."""

    async def one(check: Check) -> CheckResult:
        with span(f"check {check.name}", check=check.name) as current:
            result = await _run_one(check, sources, deadline_s)
            current.set_attribute("status", result.status.value)
        if on_result is not None:
            try:
                await on_result(result)
            except Exception:  # progress display is best effort; the report must still arrive
                log.warning("progress callback failed", exc_info=True, extra={"check": check.name})
        return result

    return tuple(await asyncio.gather(*(one(check) for check in checks)))


async def _run_one(check: Check, sources: Sources, deadline_s: float) -> CheckResult:
    try:
        with check_waits() as waits:
            result = await _within_deadline(check.run(sources), waits, deadline_s)
        return _mark_partial(result, check, sources)
    except TimeoutError:
        return CheckResult(check.name, CheckStatus.ERROR,
                           f"Could not check {check.name}: no answer within {deadline_s:g} s.", error="timeout")
    except NotApplicable as reason:
        return CheckResult(check.name, CheckStatus.SKIPPED, f"Skipped: {reason}.")
    except UpstreamError as error:
        return CheckResult(check.name, CheckStatus.ERROR, f"Could not check {check.name}: {error}", error=str(error))
    except Exception as error:  # a bug in one check must not cost the engineer the whole report
        log.exception("check crashed", extra={"check": check.name, "job": sources.job.ref.name})
        return CheckResult(check.name, CheckStatus.ERROR,
                           f"Could not check {check.name}: internal error ({type(error).__name__}).",
                           error=type(error).__name__)


async def _within_deadline(run: Awaitable[CheckResult], waits: CheckWaits, deadline_s: float) -> CheckResult:
    """`run`'s result, or TimeoutError once it has had `deadline_s` — not counting the time the reads it
    waits for sat in jobbot's own queue (the Log Analytics limiter): jobbot queueing itself is not the
    upstream failing to answer, and must not turn the verdict to `unknown` under load."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = set_deadline(started + deadline_s)  # before the task: its context sees this one
    task = asyncio.ensure_future(run)
    try:
        while True:
            deadline.at = started + deadline_s + waits.queued_s(loop.time())
            remaining = deadline.at - loop.time()
            if remaining <= 0 and not waits.queued():
                raise TimeoutError
            # While a read is queued the deadline moves with the clock: look again after `remaining`.
            done, _ = await asyncio.wait({task}, timeout=max(remaining, MIN_LOOK_S))
            if done:
                return task.result()
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _mark_partial(result: CheckResult, check: Check, sources: Sources) -> CheckResult:
    """A check built on a partial Log Analytics answer keeps its rows but cannot vouch for completeness."""
    reasons = sorted({sources.partial[n.partition(":")[2]] for n in check.needs
                      if n.startswith("query:") and n.partition(":")[2] in sources.partial})
    if not reasons or result.status is CheckStatus.SKIPPED:
        return result
    return CheckResult(result.name, CheckStatus.ERROR,
                       f"Could not fully check {check.name}: Log Analytics returned a {'; '.join(reasons)}. "
                       f"From what arrived: {result.summary}",
                       result.evidence, error="partial", partial=tuple(reasons))
