"""What a review says, as plain typed data: findings, pillar scores, the cost in money, the report.

The JSON shape (review.md §3) is made from these in `bot.review.report_json`; names here follow it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.model import CheckStatus, JobRef, Window

Status = CheckStatus  # ok | warn | fail | error | skipped: triage's vocabulary


class Pillar(StrEnum):
    SECURITY = "security"
    COST = "cost"
    RELIABILITY = "reliability"
    PERFORMANCE = "performance"
    OPERATIONS = "operations"


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def weight(self) -> int:
        return {"high": 3, "medium": 2, "low": 1}[self.value]


@dataclass(frozen=True, slots=True)
class Evidence:
    source: str  # what was read: "GET Microsoft.App/jobs/orders", "executions (ARM)", "triage check failures"
    path: str  # where in it: "identity.type"
    observed: Any  # the value seen (JSON-ready; never a secret value)


@dataclass(frozen=True, slots=True)
class Fix:
    verify: str  # a read-only `az` command that shows the same fact
    change: str | None = None  # what to change, as a diff of the job definition (applied through IaC)


@dataclass(frozen=True, slots=True)
class Money:
    """A rule's cost in money over the review window, with the formula and inputs that made it."""

    window: float
    month: float
    formula: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a rule function returns; the runner adds the rule's id, pillar, severity and anchors."""

    status: Status
    title: str
    evidence: Evidence | None = None
    fix: Fix | None = None
    money: Money | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    id: str
    pillar: Pillar
    severity: Severity
    status: Status
    title: str
    evidence: Evidence | None
    fix: Fix | None
    anchors: tuple[str, ...]
    money: Money | None = None


@dataclass(frozen=True, slots=True)
class PillarScore:
    score: int | None  # None: fewer than half the applicable rules could be evaluated ("n/a")
    evaluated: int
    total: int


@dataclass(frozen=True, slots=True)
class Waste:
    failed_retries: float | None
    empty_runs: float | None
    extra_replicas: float | None
    duplicates: float | None = None  # from message_reprocessing.kql (REL-06); None without message_id_regex


@dataclass(frozen=True, slots=True)
class CostSummary:
    currency: str
    rates_source: str
    rates_as_of: str | None
    vcpu_s: float
    gib_s: float
    window: float
    month: float
    executions: int
    waste: Waste
    # The free monthly grant per subscription, shared by every app and job: cost is shown before it.
    free_grant: str = "180,000 vCPU-s + 360,000 GiB-s per subscription per month (shared)"


@dataclass(frozen=True, slots=True)
class ReviewReport:
    job: JobRef
    window: Window
    scores: dict[Pillar, PillarScore]
    findings: tuple[Finding, ...]  # in rule order (the registry's)
    cost: CostSummary | None = None
    unread: tuple[str, ...] = field(default=())  # "what: why" for reads that failed

    @property
    def evidence_complete(self) -> bool:
        return all(f.status is not Status.ERROR for f in self.findings)

    def finding(self, rule_id: str) -> Finding | None:
        return next((f for f in self.findings if f.id == rule_id), None)
