"""One reading of ARM timestamps: `2024-04-18T03:14:28.1391783` (naive, 7 digits) is UTC, like `…Z`."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

# Seven fractional digits (.NET ticks) and a missing offset are both normal in ARM bodies
# (systemData.lastModifiedAt): trim to microseconds, and read "no offset" as UTC so that times
# from ARM, Log Analytics and Resource Graph compare without a TypeError.
_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_arm_time(value: Any) -> datetime | None:
    """An aware UTC datetime, or None for null/empty. ValueError for anything that is not a time."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        text = _FRACTION.sub(r"\1", str(value).strip())
        if text[-1:] in ("Z", "z"):
            text = text[:-1] + "+00:00"
        moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def time_or_none(value: Any) -> datetime | None:
    """parse_arm_time for data read from the wild: anything that is not a time is None, never an exception."""
    try:
        return parse_arm_time(value)
    except (TypeError, ValueError):
        return None
