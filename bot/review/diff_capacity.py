"""The capacity block of `review --diff`: equal windows before and after the change, side by side.

Pure: from the execution history (ARM), execution_durations.kql rows (start-up), each side's job definition
and the configured rates. "If trouble started at a change, revert it rather than raise maxExecutions."
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.config_schema import Rates
from bot.model import Execution, ExecutionStatus, Job, Window
from bot.review.cost import execution_cost, runtime_s
from bot.review.log_reads import percentile, startup, when
from bot.review.overlap import peak_overlap

_FINISHED = (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED)


@dataclass(frozen=True, slots=True)
class Side:
    window: Window
    runs: int
    runs_per_hour: float
    p95_duration_s: float | None  # succeeded executions
    failure_rate: float | None  # failed / finished; None: none finished
    startup_p95_s: float | None  # created -> started (execution_durations.kql); None: not in the logs
    peak_replicas: int  # most replicas running at once (executions × parallelism)
    capacity_replicas: int  # parallelism × maxExecutions of this side's definition
    cost_per_run: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"start": _iso(self.window.start), "end": _iso(self.window.end), "runs": self.runs,
                "runs_per_hour": round(self.runs_per_hour, 3), "p95_duration_s": _r(self.p95_duration_s),
                "failure_rate": None if self.failure_rate is None else round(self.failure_rate, 4),
                "startup_p95_s": _r(self.startup_p95_s), "peak_replicas": self.peak_replicas,
                "capacity_replicas": self.capacity_replicas,
                "cost_per_run": None if self.cost_per_run is None else round(self.cost_per_run, 6)}


def side(job: Job, window: Window, history: Iterable[Execution], startup_rows: Sequence[Mapping[str, Any]],
         rates: Rates, now: datetime) -> Side:
    runs = [e for e in history if e.start is not None and window.start <= e.start < window.end]
    hours = window.length.total_seconds() / 3600
    durations = [s for e in runs if e.status is ExecutionStatus.SUCCEEDED and (s := runtime_s(e, now)) is not None]
    finished = [e for e in runs if e.status in _FINISHED]
    failed = [e for e in finished if e.status is ExecutionStatus.FAILED]
    mine = [r for r in startup_rows if (t := when(r.get("Created"))) is not None and window.start <= t < window.end]
    costs = [execution_cost(e, job, rates, now) for e in runs]
    return Side(
        window=window, runs=len(runs), runs_per_hour=len(runs) / hours if hours > 0 else 0.0,
        p95_duration_s=percentile(durations, 0.95) if durations else None,
        failure_rate=len(failed) / len(finished) if finished else None,
        startup_p95_s=startup(mine).p95_s,
        peak_replicas=_peak(runs, window, now) * max(1, job.parallelism),
        capacity_replicas=max(1, job.parallelism) * job.max_executions,
        cost_per_run=sum(costs) / len(costs) if costs else None,
    )


def reaches_back(history: Iterable[Execution], window: Window) -> bool:
    """Whether the execution list covers the window: its oldest execution started at or before the window's start
    (an empty list: nothing was cut from it)."""
    starts = [e.start for e in history if e.start is not None]
    return not starts or min(starts) <= window.start


def _peak(runs: Sequence[Execution], window: Window, now: datetime) -> int:
    """Most executions running at once within the window (a running one counts until now)."""
    return peak_overlap((e.start, min(e.start + timedelta(seconds=runtime_s(e, now) or 0.0), window.end))
                        for e in runs if e.start is not None)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
