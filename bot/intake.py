"""Turn what a person typed into a typed triage request, refusing bad input before any query is built."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from bot.errors import InvalidRequest
from bot.kql import InvalidJobName, validate_job_name

DEFAULT_SINCE = timedelta(hours=1)
MAX_SINCE = timedelta(days=7)
_SINCE = re.compile(r"(\d{1,4})([mhd])")
_UNIT = {"m": "minutes", "h": "hours", "d": "days"}
_JOB_ID = re.compile(
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.App/jobs/(?P<name>[^/]+)/?",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A job as the user named it: a bare name, or a full ARM resource id."""

    name: str
    resource_group: str | None = None
    subscription: str | None = None

    @property
    def label(self) -> str:
        return self.name


def parse_since(text: str | None) -> timedelta:
    """'30m', '2h', '1d' -> timedelta (default 1h, at most 7d)."""
    if text is None or text == "":
        return DEFAULT_SINCE
    match = _SINCE.fullmatch(text.strip().lower())
    if not match:
        raise InvalidRequest(f"'{text}' is not a time window: use minutes, hours or days like 30m, 2h or 1d.")
    amount = int(match.group(1))
    since = timedelta(**{_UNIT[match.group(2)]: amount})
    if amount == 0:
        raise InvalidRequest("The time window must be longer than zero.")
    if since > MAX_SINCE:
        raise InvalidRequest("The time window can be at most 7d (execution history keeps ~100 runs).")
    return since


def parse_job(text: str) -> JobSpec:
    """A job name (letters, digits, hyphens) or a full ARM id of a Microsoft.App job."""
    text = text.strip()
    match = _JOB_ID.fullmatch(text)
    name = match.group("name") if match else text
    try:
        validate_job_name(name)
    except InvalidJobName as error:
        raise InvalidRequest(str(error)) from None
    if match:
        return JobSpec(name, match.group("rg"), match.group("sub"))
    return JobSpec(name)
