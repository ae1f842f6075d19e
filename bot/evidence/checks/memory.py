"""memory: peak memory use (Usage Bytes) against the container's memory limit."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from bot.evidence import executions as ex
from bot.evidence.deadline import best_effort
from bot.evidence.payloads import MemoryEvidence
from bot.evidence.sources import Sources
from bot.model import CheckResult, CheckStatus, Container

NAME = "memory"
NEEDS = ("metric:Usage Bytes", "executions")  # the upstream reads it makes (prefetched together)
NEAR_LIMIT = 0.9
_UNITS = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "ki": 1024, "mi": 1024**2, "gi": 1024**3, "ti": 1024**4}


def parse_memory(value: str | None) -> float | None:
    """'1Gi' -> 1073741824; '512Mi', '0.5Gi', '2G' likewise; None when unreadable."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([kmgt]i?)?\s*b?\s*", (value or "").lower())
    if not match:
        return None
    return float(match.group(1)) * _UNITS[match.group(2) or ""]


def _limit(containers: Sequence[Container]) -> float | None:
    return sum(parse_memory(c.memory) or 0 for c in containers) or None


async def run(sources: Sources) -> CheckResult:
    """Peak Usage Bytes in the window against the memory limit in effect at that moment."""
    series = await sources.metric("Usage Bytes")
    if series.peak is None:
        return CheckResult(NAME, CheckStatus.SKIPPED, "No memory metric points in the window.")
    # The limit may have changed inside the window (a memory cut is a classic cause): judge each point
    # against the template of the execution that was newest when it was measured.
    history = ex.newest_first(await best_effort(sources.executions()) or [])

    def limit_at(moment: datetime) -> float | None:
        running = next((e for e in history if e.start is not None and e.start <= moment and e.containers), None)
        return _limit(running.containers if running else sources.job.containers)

    judged = [(value, limit_at(moment)) for moment, value in series.points]
    with_limit = [(value, limit) for value, limit in judged if limit]
    if not with_limit:
        peak = series.peak
        return CheckResult(NAME, CheckStatus.OK, f"Peak memory {peak / 2**20:.0f} MiB (no limit known).",
                           MemoryEvidence(peak, None, None))
    value, limit = max(with_limit, key=lambda pair: pair[0] / pair[1])
    ratio = value / limit
    data = MemoryEvidence(value, limit, round(ratio, 3))
    summary = f"Peak memory {value / 2**20:.0f} MiB of {limit / 2**20:.0f} MiB limit ({ratio:.0%})."
    return CheckResult(NAME, CheckStatus.WARN if ratio >= NEAR_LIMIT else CheckStatus.OK, summary, data)
