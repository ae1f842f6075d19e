"""Run checks concurrently, each under its own deadline; a failing check is a finding, never a crash."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from bot.errors import NotApplicable, UpstreamError
from bot.evidence.deadline import set_deadline
from bot.evidence.registry import Check
from bot.evidence.sources import Sources
from bot.model import CheckResult, CheckStatus

log = logging.getLogger(__name__)


OnResult = Callable[[CheckResult], Awaitable[None]]


async def run_checks(
    checks: Sequence[Check], sources: Sources, deadline_s: float, on_result: OnResult | None = None
) -> tuple[CheckResult, ...]:
    """All checks at once; `on_result` hears each one as it finishes (a message filling in)."""

    async def one(check: Check) -> CheckResult:
        result = await _run_one(check, sources, deadline_s)
        if on_result is not None:
            try:
                await on_result(result)
            except Exception:  # progress display is best effort; the report must still arrive
                log.warning("progress callback failed", exc_info=True, extra={"check": check.name})
        return result

    return tuple(await asyncio.gather(*(one(check) for check in checks)))


async def _run_one(check: Check, sources: Sources, deadline_s: float) -> CheckResult:
    try:
        set_deadline(asyncio.get_running_loop().time() + deadline_s)
        async with asyncio.timeout(deadline_s):
            result = await check.run(sources)
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
