"""The clocks: the system's, a frozen one, and the manual one tests move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts.feature import scheduler_clock
from bot.clock import FixedClock, ManualClock, SystemClock

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def test_a_manual_clock_stands_still_until_advanced() -> None:
    clock = ManualClock(T0)
    assert clock.now() == T0 and clock.now() == T0
    assert clock.advance(timedelta(minutes=5)) == T0 + timedelta(minutes=5) == clock.now()
    assert clock.advance(timedelta(0)) == T0 + timedelta(minutes=5)
    assert repr(clock) == "ManualClock(2026-11-28T10:05:00+00:00)"


def test_a_manual_clock_refuses_to_go_back_or_to_be_naive() -> None:
    clock = ManualClock(T0)
    with pytest.raises(ValueError, match="does not go back"):
        clock.advance(timedelta(seconds=-1))
    assert clock.now() == T0
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2026, 11, 28, 10, 0))


def test_timers_run_on_a_manual_clock_but_not_on_a_frozen_one() -> None:
    manual = ManualClock(T0)
    assert scheduler_clock(manual) is manual
    assert isinstance(scheduler_clock(FixedClock(T0)), SystemClock)
