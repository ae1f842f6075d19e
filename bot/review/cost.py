"""The cost model (review.md §2): consumption-plan jobs pay the active rate per second of each replica's
allocated vCPU and GiB; no idle rate, no request charge.

    replica_cost = runtime_s × (cpu × vcpu_s + GiB × gib_s);  an execution runs `parallelism` replicas
    month = window cost × 30 / days in the window

Runtimes come from ARM's start/end (a running execution counts up to now); cpu and memory from each
execution's own template, else the job's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.config_schema import Rates
from bot.model import Container, Execution, Job, Window

_QUANTITY = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*$")
_GIB = {"": 1 / 2**30, "ki": 1 / 2**20, "mi": 1 / 2**10, "gi": 1.0, "ti": 2**10,
        "k": 1e3 / 2**30, "m": 1e6 / 2**30, "g": 1e9 / 2**30, "t": 1e12 / 2**30}


def gib(memory: str | None) -> float | None:
    """'1Gi' -> 1.0, '512Mi' -> 0.5, '0.5Gi' -> 0.5, '2G' -> 1.86 (Kubernetes quantities; bare = bytes)."""
    match = _QUANTITY.match(memory or "")
    if match is None or match.group(2).lower() not in _GIB:
        return None
    return float(match.group(1)) * _GIB[match.group(2).lower()]


@dataclass(frozen=True, slots=True)
class Size:
    cpu: float
    gib: float

    def per_second(self, rates: Rates) -> float:
        return self.cpu * rates.vcpu_s + self.gib * rates.gib_s


def size_of(containers: Iterable[Container]) -> Size | None:
    """Allocated vCPU and GiB of one replica (its containers summed); None when any is unstated."""
    cpu = mem = 0.0
    listed = list(containers)
    for container in listed:
        memory = gib(container.memory)
        if container.cpu is None or memory is None:
            return None
        cpu, mem = cpu + container.cpu, mem + memory
    return Size(cpu, mem) if listed else None


def runtime_s(execution: Execution, now: datetime) -> float | None:
    if execution.start is None:
        return None
    end = execution.end if execution.end is not None and execution.status.value not in ("Running", "Processing") \
        else now
    return max(0.0, (min(end, now) - execution.start).total_seconds())


def execution_cost(execution: Execution, job: Job, rates: Rates, now: datetime) -> float:
    size = size_of(execution.containers) or size_of(job.containers)
    seconds = runtime_s(execution, now)
    if size is None or seconds is None:
        return 0.0
    return seconds * size.per_second(rates) * max(1, job.parallelism)


def monthly(window_cost: float, window: Window) -> float:
    days = window.length.total_seconds() / 86400
    return window_cost * 30 / days if days > 0 else 0.0


def money_text(amount: float, currency: str) -> str:
    return f"{amount:,.2f} {currency}" if amount >= 0.01 or amount == 0 else f"{amount:.4f} {currency}"
