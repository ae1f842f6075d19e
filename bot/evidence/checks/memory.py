"""memory: peak memory use (Usage Bytes) against the container's memory limit."""

from __future__ import annotations

import re

from bot.evidence.sources import Sources
from bot.model import CheckResult, CheckStatus

NAME = "memory"
NEEDS = ("metric:Usage Bytes",)  # the upstream reads it makes (prefetched together)
NEAR_LIMIT = 0.9
_UNITS = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "ki": 1024, "mi": 1024**2, "gi": 1024**3, "ti": 1024**4}


def parse_memory(value: str | None) -> float | None:
    """'1Gi' -> 1073741824; '512Mi', '0.5Gi', '2G' likewise; None when unreadable."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([kmgt]i?)?\s*b?\s*", (value or "").lower())
    if not match:
        return None
    return float(match.group(1)) * _UNITS[match.group(2) or ""]


async def run(sources: Sources) -> CheckResult:
    """Peak Usage Bytes in the window against the memory limit of the job's containers."""
    series = await sources.metric("Usage Bytes")
    limit = sum(parse_memory(c.memory) or 0 for c in sources.job.containers) or None
    peak = series.peak
    data = {"peak_bytes": peak, "limit_bytes": limit, "ratio": round(peak / limit, 3) if peak and limit else None}
    if peak is None:
        return CheckResult(NAME, CheckStatus.SKIPPED, "No memory metric points in the window.", data)
    if limit is None:
        return CheckResult(NAME, CheckStatus.OK, f"Peak memory {peak / 2**20:.0f} MiB (no limit known).", data)
    ratio = peak / limit
    summary = f"Peak memory {peak / 2**20:.0f} MiB of {limit / 2**20:.0f} MiB limit ({ratio:.0%})."
    return CheckResult(NAME, CheckStatus.WARN if ratio >= NEAR_LIMIT else CheckStatus.OK, summary, data)
