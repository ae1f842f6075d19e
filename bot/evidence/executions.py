"""Pure helpers over execution history: which executions fall in a window, and in what order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from bot.model import ACTIVE_STATUSES, FAILED_STATUSES, Execution, ExecutionStatus, Window

_EPOCH = datetime.min.replace(tzinfo=UTC)


def newest_first(executions: Iterable[Execution]) -> list[Execution]:
    # The service does not document the order of the list: sort it ourselves.
    return sorted(executions, key=lambda e: e.start or _EPOCH, reverse=True)


def in_window(executions: Iterable[Execution], window: Window) -> list[Execution]:
    """Executions that ran during the window (started in it, or still active, or ended in it)."""
    chosen = []
    for execution in executions:
        started_in = execution.start is not None and window.start <= execution.start <= window.end
        ended_in = execution.end is not None and window.start <= execution.end <= window.end
        active = execution.status in ACTIVE_STATUSES and (execution.start is None or execution.start <= window.end)
        if started_in or ended_in or active:
            chosen.append(execution)
    return newest_first(chosen)


def failed(executions: Iterable[Execution]) -> list[Execution]:
    return [e for e in executions if e.status in FAILED_STATUSES]


def succeeded(executions: Iterable[Execution]) -> list[Execution]:
    return [e for e in executions if e.status is ExecutionStatus.SUCCEEDED]


def active(executions: Iterable[Execution]) -> list[Execution]:
    return [e for e in executions if e.status in ACTIVE_STATUSES]


def last_good_before(executions: Sequence[Execution], moment: datetime | None) -> Execution | None:
    """The newest Succeeded execution that started before `moment` (before the failures began)."""
    for execution in newest_first(executions):
        if execution.status is not ExecutionStatus.SUCCEEDED or execution.start is None:
            continue
        if moment is None or execution.start < moment:
            return execution
    return None
