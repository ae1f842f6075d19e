"""One clock for the whole bot: the system's in production, the scenario's `now` in scenario mode."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class FixedClock:
    """A clock frozen at one instant (scenario mode, tests)."""

    instant: datetime

    def now(self) -> datetime:
        return self.instant
