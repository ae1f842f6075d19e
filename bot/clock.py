"""One clock for the whole bot: the system's in production, the scenario's `now` in scenario mode."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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


class ManualClock:
    """A clock that stands still until told to move (tests, benchmarks): `advance(timedelta(minutes=5))`.

    Not a `FixedClock`: features that need time to pass for timers and leases use it as it is, on the
    test's schedule, where a `FixedClock` world makes them fall back to the system clock.
    """

    __slots__ = ("instant",)

    def __init__(self, instant: datetime) -> None:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError("ManualClock needs a timezone-aware instant")
        self.instant = instant

    def now(self) -> datetime:
        return self.instant

    def advance(self, by: timedelta) -> datetime:
        """Move on by `by` (never back); returns the new now."""
        if by < timedelta(0):
            raise ValueError(f"a clock does not go back: advance({by})")
        self.instant += by
        return self.instant

    def __repr__(self) -> str:
        return f"ManualClock({self.instant.isoformat()})"
