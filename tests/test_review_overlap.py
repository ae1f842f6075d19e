"""The concurrency sweep behind the capacity rule (PERF-04) and the change diff's capacity, against counting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.review.overlap import peak_overlap

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
spans = st.lists(st.tuples(st.integers(0, 120), st.integers(0, 60)), max_size=30)


def _interval(start_min: int, length_min: int) -> tuple[datetime, datetime]:
    start = T0 + timedelta(minutes=start_min)
    return start, start + timedelta(minutes=length_min)


@given(spans)
def test_the_peak_is_the_most_executions_running_at_any_start(raw: list[tuple[int, int]]) -> None:
    intervals = [_interval(s, n) for s, n in raw]
    counted = max((sum(1 for a, b in intervals if a <= t < b) for t, _ in intervals), default=0)
    assert peak_overlap(intervals) == counted


def test_back_to_back_executions_run_one_at_a_time_and_overlapping_ones_add_up() -> None:
    assert peak_overlap([_interval(0, 10), _interval(10, 10), _interval(20, 5)]) == 1
    assert peak_overlap([_interval(0, 10), _interval(5, 10), _interval(9, 1)]) == 3
    assert peak_overlap([]) == 0
