"""The review report as the JSON document of review.md §3 (`jobbot review --format json`), and back.

The document is also what `jobbot serve` stores when it posts a review (the store holds data; messages are
rendered from it when needed), so `review_from_dict` reads it back into the typed report.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.evidence.rows import iso
from bot.model import JobRef, Window
from bot.review.findings import (
    CostSummary,
    Evidence,
    Finding,
    Fix,
    Money,
    Pillar,
    PillarScore,
    ReviewReport,
    Severity,
    Status,
    Waste,
)


def review_to_dict(report: ReviewReport) -> dict[str, Any]:
    cost = report.cost
    return {
        "kind": "review",
        "job": {"name": report.job.name, "resource_group": report.job.resource_group,
                "subscription": report.job.subscription, "id": report.job.id},
        "window": {"start": iso(report.window.start), "end": iso(report.window.end)},
        "evidence_complete": report.evidence_complete,
        "scores": {p.value: dataclasses.asdict(s) for p, s in report.scores.items()},
        "cost": None if cost is None else {
            "currency": cost.currency, "rates_source": cost.rates_source, "rates_as_of": cost.rates_as_of,
            "rates": {"vcpu_s": cost.vcpu_s, "gib_s": cost.gib_s}, "free_grant": cost.free_grant,
            "executions": cost.executions, "window": cost.window, "month": cost.month,
            "waste": dataclasses.asdict(cost.waste),
        },
        "findings": [finding_to_dict(f) for f in report.findings],
        "unread": list(report.unread),
    }


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.id, "pillar": finding.pillar.value, "severity": finding.severity.value,
        "status": finding.status.value, "title": finding.title,
        "evidence": None if finding.evidence is None else dataclasses.asdict(finding.evidence),
        "fix": None if finding.fix is None else dataclasses.asdict(finding.fix),
        "anchors": list(finding.anchors),
        "money": None if finding.money is None else dataclasses.asdict(finding.money),
    }


class UnreadableReview(ValueError):
    """A stored review document that is not the shape `review_to_dict` writes."""


def review_from_dict(document: Mapping[str, Any]) -> ReviewReport:
    """The typed report from its JSON document; UnreadableReview when it is not one."""
    try:
        if document.get("kind") != "review":
            raise UnreadableReview("not a review document")
        job, window = document["job"], document["window"]
        cost = document.get("cost")
        return ReviewReport(
            job=JobRef(str(job["name"]), str(job["resource_group"]), str(job["subscription"]), str(job["id"])),
            window=Window(_moment(window["start"]), _moment(window["end"])),
            scores={Pillar(p): PillarScore(s["score"], int(s["evaluated"]), int(s["total"]))
                    for p, s in document["scores"].items()},
            findings=tuple(_finding(f) for f in document["findings"]),
            cost=None if cost is None else _cost(cost),
            unread=tuple(str(u) for u in document.get("unread") or ()),
        )
    except UnreadableReview:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise UnreadableReview(f"not a review document: {type(error).__name__} {error}") from error


def _moment(text: Any) -> datetime:
    moment = datetime.fromisoformat(str(text))
    if moment.tzinfo is None:
        raise ValueError(f"time without a timezone: {text}")
    return moment


def _finding(value: Mapping[str, Any]) -> Finding:
    evidence, fix, money = value.get("evidence"), value.get("fix"), value.get("money")
    return Finding(
        id=str(value["id"]), pillar=Pillar(value["pillar"]), severity=Severity(value["severity"]),
        status=Status(value["status"]), title=str(value["title"]),
        evidence=None if evidence is None else Evidence(str(evidence["source"]), str(evidence["path"]),
                                                        evidence["observed"]),
        fix=None if fix is None else Fix(str(fix["verify"]), fix.get("change")),
        anchors=tuple(str(a) for a in value.get("anchors") or ()),
        money=None if money is None else Money(float(money["window"]), float(money["month"]), str(money["formula"])),
    )


def _cost(value: Mapping[str, Any]) -> CostSummary:
    rates, waste = value["rates"], value["waste"]
    return CostSummary(
        currency=str(value["currency"]), rates_source=str(value["rates_source"]), rates_as_of=value.get("rates_as_of"),
        vcpu_s=float(rates["vcpu_s"]), gib_s=float(rates["gib_s"]), window=float(value["window"]),
        month=float(value["month"]), executions=int(value["executions"]),
        waste=Waste(waste.get("failed_retries"), waste.get("empty_runs"), waste.get("extra_replicas"),
                    waste.get("duplicates")),
        free_grant=str(value["free_grant"]),
    )
