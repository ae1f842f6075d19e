"""What the review's own canned queries say, in the terms its rules judge: start-up seconds, billed gigabytes.

Rows come from Log Analytics (datetimes as `datetime`) or, in tests, as the wire's ISO text: both are read.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.review.facts import Facts

BYTES_PER_GB = 1e9  # Log Analytics bills decimal gigabytes


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def when(value: Any) -> datetime | None:
    """A row's datetime cell (a datetime, ISO text, or null)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _seconds(first: Any, last: Any) -> float | None:
    start, end = when(first), when(last)
    if start is None or end is None or end < start:
        return None
    return (end - start).total_seconds()


@dataclass(frozen=True, slots=True)
class Startup:
    """Start-up of the executions in the window: created → started, and image pulls, in seconds."""

    startups: tuple[float, ...]
    pulls: tuple[float, ...]
    slowest: str | None  # the execution that took longest to start

    @property
    def p95_s(self) -> float | None:
        return percentile(self.startups, 0.95) if self.startups else None

    @property
    def pull_p95_s(self) -> float | None:
        return percentile(self.pulls, 0.95) if self.pulls else None

    def observed(self) -> dict[str, Any]:
        return {"executions": len(self.startups), "p95_startup_s": _r(self.p95_s), "pulls": len(self.pulls),
                "p95_pull_s": _r(self.pull_p95_s), "slowest": self.slowest}


def startup(rows: Iterable[Mapping[str, Any]]) -> Startup:
    """From execution_durations.kql rows."""
    timed = sorted(((s, str(r.get("ExecutionName", ""))) for r in rows
                    if (s := _seconds(r.get("Created"), r.get("Started"))) is not None), key=lambda p: (-p[0], p[1]))
    pulls = [s for r in rows if (s := _seconds(r.get("PullStarted"), r.get("Pulled"))) is not None]
    return Startup(tuple(sorted(s for s, _ in timed)), tuple(sorted(pulls)), timed[0][1] if timed else None)


@dataclass(frozen=True, slots=True)
class Volume:
    """Billed log gigabytes per day (log_volume.kql)."""

    per_day: dict[str, float]  # YYYY-MM-DD -> GB

    @property
    def total_gb(self) -> float:
        return sum(self.per_day.values())

    @property
    def max_gb_day(self) -> float:
        return max(self.per_day.values(), default=0.0)

    def observed(self) -> dict[str, Any]:
        return {"days": len(self.per_day), "total_gb": round(self.total_gb, 6), "max_gb_day": round(self.max_gb_day, 6)}


def volume(rows: Iterable[Mapping[str, Any]]) -> Volume:
    per_day: dict[str, float] = {}
    for row in rows:
        day = when(row.get("Day"))
        if day is not None:
            per_day[day.strftime("%Y-%m-%d")] = float(row.get("BilledBytes") or 0.0) / BYTES_PER_GB
    return Volume(dict(sorted(per_day.items())))


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# --- read-only commands that show the same facts ------------------------------------------------------

def az_logs(f: Facts, kql_cl: str, kql_resource: str) -> str:
    """`az monitor log-analytics query` over the job's workspace, in the layout its environment writes."""
    setup = f.log_setup
    workspace = setup.workspace_id if setup else "WORKSPACE_ID"
    text = kql_resource if setup is not None and setup.destination == "azure-monitor" else kql_cl
    days = max(1, math.ceil(f.window.length.total_seconds() / 86400))
    return (f"az monitor log-analytics query --workspace {shlex.quote(workspace)} --analytics-query "
            f"{shlex.quote(text)} --timespan P{days}D")
