"""Time and trace a use case without the use case knowing: `@observed_triage` on `bot.triage.triage`,
`@observed_review` on `bot.review.service.review`."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from prometheus_client import Histogram

from bot.errors import JobNotFound
from bot.intake import JobSpec
from bot.model import TriageReport
from bot.telemetry.metrics import REVIEW_SECONDS, TRIAGE_SECONDS
from bot.telemetry.tracing import span

P = ParamSpec("P")
R = TypeVar("R")


def _observed(name: str, histogram: Histogram, outcome_of: Callable[[Any], str]
              ) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """One span named `name` around the use case, and its duration by outcome (`outcome_of(report)`,
    `not-found`, or `failed` when no report came)."""

    def decorate(run: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(run)
        async def observed(*args: P.args, **kwargs: P.kwargs) -> R:
            spec = args[0] if args else kwargs.get("spec")
            started = time.perf_counter()
            outcome = "failed"
            with span(name, job=spec.label if isinstance(spec, JobSpec) else "") as current:
                try:
                    report = await run(*args, **kwargs)
                    outcome = outcome_of(report)
                    current.set_attribute("outcome", outcome)
                    return report
                except JobNotFound:
                    outcome = "not-found"
                    raise
                finally:
                    histogram.labels(outcome).observe(time.perf_counter() - started)

        return observed

    return decorate


def _cause(report: TriageReport) -> str:
    return report.verdict.cause.value


def _completeness(report: Any) -> str:
    return "complete" if report.evidence_complete else "incomplete"


observed_triage = _observed("triage", TRIAGE_SECONDS, _cause)
observed_review = _observed("review", REVIEW_SECONDS, _completeness)
