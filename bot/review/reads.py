"""One read of a review, whatever becomes of it: its value, or why there is none.

A review reads many things at once and must say of each rule that could not be judged *why* (review.md: a
rule is never silently skipped), so a read that times out, does not apply or is refused becomes a `Read`
with the reason instead of an exception that would cancel its neighbours."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.errors import NotApplicable, UpstreamError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Read:
    value: Any = None
    error: str | None = None


async def read_within(awaitable: Awaitable[T], deadline_s: float, *, mark_not_applicable: bool = False) -> Read:
    """`awaitable`'s value, or the reason it has none: no answer within `deadline_s`, not applicable (prefixed
    "n/a: " when `mark_not_applicable`, as findings tell it apart from a fault), or the upstream's refusal."""
    try:
        async with asyncio.timeout(deadline_s):
            return Read(await awaitable)
    except TimeoutError:
        return Read(error=f"no answer within {deadline_s:g} s")
    except NotApplicable as why:
        return Read(error=f"n/a: {why}" if mark_not_applicable else str(why))
    except UpstreamError as error:
        return Read(error=str(error))
