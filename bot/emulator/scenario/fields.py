"""The value types a scenario file is checked with: each refuses with the message a person reads.

Every check raises `PydanticCustomError`, whose message `problems.py` prints after the key path.
Types are strict (no "5" for 5, no "yes" for true): a scenario is a contract, not a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, Strict
from pydantic_core import PydanticCustomError

from bot.evidence.change_records import CallerKind, ChangeSource
from bot.evidence.payloads import AccessStatus
from bot.model import Cause, CheckStatus, Confidence

_JOB_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.App/jobs/(?P<name>[^/]+)$",
    re.IGNORECASE,
)
_ARM_ID = re.compile(r"^/(?:subscriptions|providers)/[^/]+(?:/[^/]+)*$", re.IGNORECASE)


def job_id_match(value: str) -> re.Match[str] | None:
    return _JOB_ID.match(value)


def one_of(*allowed: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in allowed:
            raise PydanticCustomError(
                "choice", "'{value}' is not one of: {allowed}", {"value": value, "allowed": ", ".join(allowed)}
            )
        return value

    return check


def _non_empty(value: str) -> str:
    if not value:
        raise PydanticCustomError("non_empty", "must be a non-empty string, not a string")
    return value


def _aware_time(value: Any) -> datetime:
    if value is None:
        raise PydanticCustomError("missing", "required key is missing")
    parsed = _parse(value)
    if parsed is None or parsed.tzinfo is None:
        raise PydanticCustomError(
            "timestamp", "must be an ISO 8601 timestamp with a zone (e.g. ...Z), not {value}", {"value": repr(value)}
        )
    return parsed


def _any_time(value: Any) -> Any:
    """A timestamp as Log Analytics or Resource Graph writes it; one without a zone is UTC. Kept as written."""
    if _parse(value) is None:
        raise PydanticCustomError(
            "timestamp",
            "must be an ISO 8601 timestamp (e.g. 2026-11-28T09:10:00Z), not {value}",
            {"value": repr(value)},
        )
    return value


def _parse(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def _job_id(value: str) -> str:
    if job_id_match(value) is None:
        raise PydanticCustomError(
            "job_id", "must be a job resource id: /subscriptions/…/resourceGroups/…/providers/Microsoft.App/jobs/NAME"
        )
    return value


def _arm_id(value: str) -> str:
    if _ARM_ID.match(value) is None:
        raise PydanticCustomError(
            "arm_id",
            "must be an ARM resource id (/subscriptions/… or /providers/…), not {value}",
            {"value": repr(value)},
        )
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("number", "must be a number, not {kind}", {"kind": type_name(value)})
    return value


Text = Annotated[str, Strict()]
NonEmpty = Annotated[str, Strict(), AfterValidator(_non_empty)]
Number = Annotated[float, BeforeValidator(_number)]
Count = Annotated[int, Strict()]
Flag = Annotated[bool, Strict()]
AwareTime = Annotated[datetime, BeforeValidator(_aware_time)]
RowTime = Annotated[Any, AfterValidator(_any_time)]
JobId = Annotated[str, Strict(), AfterValidator(_job_id)]
ArmId = Annotated[str, Strict(), AfterValidator(_arm_id)]

CauseName = Annotated[str, Strict(), AfterValidator(one_of(*(str(c) for c in Cause)))]
ConfidenceName = Annotated[str, Strict(), AfterValidator(one_of(*(str(c) for c in Confidence)))]
CheckStatusName = Annotated[str, Strict(), AfterValidator(one_of(*(str(c) for c in CheckStatus)))]
CallerKindName = Annotated[str, Strict(), AfterValidator(one_of(*(str(k) for k in CallerKind)))]
ChangeSourceName = Annotated[str, Strict(), AfterValidator(one_of(*(str(s) for s in ChangeSource)))]
AccessStatusName = Annotated[str, Strict(), AfterValidator(one_of(*(str(s) for s in AccessStatus)))]
# Review (issue 12): the five pillars, and rule ids as review.md names them (SEC-01 … OPS-07).
PILLARS = ("security", "cost", "reliability", "performance", "operations")
PillarName = Annotated[str, Strict(), AfterValidator(one_of(*PILLARS))]
RuleId = Annotated[str, Strict(), Field(pattern=r"^(SEC|COST|REL|PERF|OPS)-[0-9]{2}$")]
Score = Annotated[int, Strict(), Field(ge=0, le=100)]


def type_name(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), f"a {type(value).__name__}")


def utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
