"""The triage report as the store keeps it, and back: data, not a rendered view.

Alert threads keep their triage's report and render it when they post, so a better renderer reaches
threads opened before it shipped. pydantic validates the stored JSON back into the typed report; each
check's evidence is tagged with its class so the union is never guessed.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import TypeAdapter

from bot.evidence import payloads
from bot.evidence.payloads import Evidence
from bot.model import CheckResult, TriageReport

FORMAT = 1
_EVIDENCE: dict[str, Any] = {cls.__name__: cls for cls in vars(payloads).values()
             if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__name__.endswith("Evidence")}
_REPORT = TypeAdapter(TriageReport)


def report_to_store(report: TriageReport) -> dict[str, Any]:
    untagged = dataclasses.replace(report, checks=tuple(dataclasses.replace(c, evidence=None) for c in report.checks))
    stored: dict[str, Any] = _REPORT.dump_python(untagged, mode="json")
    stored["evidence"] = [
        None if c.evidence is None else {"kind": type(c.evidence).__name__,
                                         "value": TypeAdapter(type(c.evidence)).dump_python(c.evidence, mode="json")}
        for c in report.checks]
    stored["format"] = FORMAT
    return stored


def report_from_store(stored: dict[str, Any]) -> TriageReport:
    body = {k: v for k, v in stored.items() if k not in ("evidence", "format")}
    report = _REPORT.validate_python(body)
    checks: list[CheckResult] = []
    for check, tagged in zip(report.checks, stored.get("evidence") or [None] * len(report.checks), strict=True):
        evidence: Evidence | None = None
        if tagged is not None:
            evidence = TypeAdapter(_EVIDENCE[tagged["kind"]]).validate_python(tagged["value"])
        checks.append(dataclasses.replace(check, evidence=evidence))
    return dataclasses.replace(report, checks=tuple(checks))
