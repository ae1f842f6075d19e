"""Who made a change: a person (UPN) or a pipeline (service principal, managed identity), and whether that
caller is this job's usual deployer."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from bot.evidence.change_records import CallerKind, ChangeRecord, ResourceKind

USUAL_WINDOW = timedelta(days=30)
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
# Resource Graph changedByType, ARM systemData.*ByType: who is behind the caller string.
_PERSON_TYPES = frozenset({"user"})
_PIPELINE_TYPES = frozenset({"appid", "application", "serviceprincipal", "managedidentity", "key"})
# Resource Graph says `System` for background changes no one asked for: neither a person nor a pipeline.
_SYSTEM = frozenset({"system"})
_JOB_WRITES = frozenset({"MICROSOFT.APP/JOBS/WRITE", "UPDATE", "CREATE"})


def caller_kind(caller: str | None, caller_type: str | None = None) -> CallerKind:
    """A UPN is a person; an app id / object id, or a caller typed as an application, is a pipeline."""
    text = (caller or "").strip()
    kind = (caller_type or "").strip().lower()
    if not text or text.lower() in _SYSTEM:
        return CallerKind.UNKNOWN
    if kind in _PERSON_TYPES:
        return CallerKind.PERSON
    if kind in _PIPELINE_TYPES:
        return CallerKind.PIPELINE
    if "@" in text:
        return CallerKind.PERSON
    if _GUID.fullmatch(text):
        return CallerKind.PIPELINE
    return CallerKind.UNKNOWN


def is_job_write(record: ChangeRecord) -> bool:
    return record.kind == ResourceKind.JOB and record.operation.upper() in _JOB_WRITES


def usual_deployer(records: Iterable[ChangeRecord], *, now: datetime,
                   window: timedelta = USUAL_WINDOW) -> str | None:
    """The caller of most of the job's writes in the last 30 days; None without a clear majority caller.

    The same write seen by two sources (Resource Graph and the Activity Log) counts once: writes are
    keyed by caller and minute.
    """
    records = list(records)
    since = now - window
    writes = {(r.caller.lower(), r.time.replace(second=0, microsecond=0))
              for r in records
              if is_job_write(r) and r.caller and r.time is not None and since <= r.time <= now}
    counts = Counter(caller for caller, _ in writes)
    ranked = counts.most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return None
    best = ranked[0][0]
    # Keep the caller's own spelling from the newest record that has it.
    return next(r.caller for r in sorted(records, key=lambda r: r.time or since, reverse=True)
                if r.caller and r.caller.lower() == best)


def not_usual_deployer(record: ChangeRecord, usual: str | None) -> bool:
    """True only when both are known and differ: an unknown usual deployer says nothing."""
    return bool(usual and record.caller and record.caller.strip().lower() != usual.strip().lower())
