"""Most intervals open at once: the sweep both the capacity rule and the change diff's capacity use."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime


def peak_overlap(intervals: Iterable[tuple[datetime, datetime]]) -> int:
    """Most (start, end) intervals open at the same instant; an end at a start's instant frees first, so
    back-to-back executions count as one at a time."""
    edges = [edge for start, end in intervals for edge in ((start, 1), (end, -1))]
    running = peak = 0
    for _, step in sorted(edges):
        running += step
        peak = max(peak, running)
    return peak
