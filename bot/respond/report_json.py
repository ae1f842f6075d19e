"""The triage report as the JSON document of the architecture contract (`--format json`).

The one place typed evidence becomes JSON: dataclass fields in declaration order, times as
`2026-11-28T09:00:00Z`, enums as their values, tuples as lists; a field marked `omit_none` is left out
when None (see `bot.evidence.payloads`).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import Enum
from typing import Any

from bot.evidence.rows import iso
from bot.model import CheckResult, TriageReport


def report_to_dict(report: TriageReport) -> dict[str, Any]:
    verdict = report.verdict
    change = verdict.suspected_change
    rollback = verdict.rollback_candidate
    return {
        "job": {"name": report.job.name, "resource_group": report.job.resource_group,
                "subscription": report.job.subscription, "id": report.job.id},
        "window": {"start": iso(report.window.start), "end": iso(report.window.end)},
        # When the oldest answer the report rests on was read (reads are shared between triages briefly).
        "evidence_read_at": iso(report.evidence_read_at),
        "verdict": {
            "cause": verdict.cause.value,
            "confidence": verdict.confidence.value,
            "summary": verdict.summary,
            "suspected_change": None if change is None else to_json(change),
            "rollback_candidate": None if rollback is None else {
                "image": rollback.image, "last_success": iso(rollback.last_success),
                "execution": rollback.execution},
        },
        "checks": [check_to_dict(c) for c in report.checks],
        "runbook": None if report.runbook is None else {
            "id": report.runbook.id, "title": report.runbook.title, "steps": list(report.runbook.steps)},
        "owners": None if report.owners is None else {
            "primary": report.owners.primary, "escalation": list(report.owners.escalation),
            **({"fallback": report.owners.fallback} if report.owners.fallback else {})},
        "evidence_complete": report.evidence_complete,
    }


def check_to_dict(check: CheckResult) -> dict[str, Any]:
    data: dict[str, Any] = {} if check.evidence is None else to_json(check.evidence)
    if check.error is not None:
        data["error"] = check.error
    if check.partial:
        data["partial"] = list(check.partial)
    return {"name": check.name, "status": check.status.value, "summary": check.summary, "data": data}


def to_json(value: Any) -> Any:
    """Typed evidence -> plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_json(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not (f.metadata.get("omit_none") and getattr(value, f.name) is None)
        }
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return value
