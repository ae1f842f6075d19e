"""The triage report as the JSON document of the architecture contract (`--format json`)."""

from __future__ import annotations

from typing import Any

from bot.evidence.rows import iso
from bot.model import TriageReport


def report_to_dict(report: TriageReport) -> dict[str, Any]:
    verdict = report.verdict
    change = verdict.suspected_change
    rollback = verdict.rollback_candidate
    return {
        "job": {"name": report.job.name, "resource_group": report.job.resource_group,
                "subscription": report.job.subscription, "id": report.job.id},
        "window": {"start": iso(report.window.start), "end": iso(report.window.end)},
        "verdict": {
            "cause": verdict.cause.value,
            "confidence": verdict.confidence.value,
            "summary": verdict.summary,
            "suspected_change": None if change is None else {
                "time": iso(change.time), "caller": change.caller, "operation": change.operation,
                "what": change.what},
            "rollback_candidate": None if rollback is None else {
                "image": rollback.image, "last_success": iso(rollback.last_success),
                "execution": rollback.execution},
        },
        "checks": [
            {"name": c.name, "status": c.status.value, "summary": c.summary, "data": dict(c.data)}
            for c in report.checks
        ],
        "runbook": None if report.runbook is None else {
            "id": report.runbook.id, "title": report.runbook.title, "steps": list(report.runbook.steps)},
        "owners": None if report.owners is None else {
            "primary": report.owners.primary, "escalation": list(report.owners.escalation)},
        "evidence_complete": report.evidence_complete,
    }
