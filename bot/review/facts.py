"""Everything a review's rules judge, read once: the job, its environment, its history, the triage checks'
typed evidence, the identity's role grants and the registries' properties.

A read that failed is kept as its reason, not as an absent value: a rule that needs it raises `NotRead`
and becomes `error` with that reason. `NotApplicable` (from `bot.errors`) makes a rule `skipped`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from bot.config_schema import Review
from bot.errors import NotApplicable
from bot.model import (
    CheckResult,
    CheckStatus,
    Execution,
    Job,
    LogSetup,
    MetricSeries,
    Owners,
    QueryResult,
    QueueDepth,
    ScaleRule,
    Window,
)

E = TypeVar("E")
EVENT = "event"
POISON_TAG = "jobbot-poison-queue"  # a job tag declaring its Storage queue's poison queue (as review.poison_queue)
# Scale rule type -> (read name prefix, the metadata key naming its source, the source's ARM type).
SOURCE_KINDS = {"azure-queue": ("storage", "accountName", "Microsoft.Storage/storageAccounts"),
                "azure-servicebus": ("namespace", "namespace", "Microsoft.ServiceBus/namespaces")}


class NotRead(Exception):
    """A rule's input could not be read (upstream fault, missing permission) or is not read yet."""


@dataclass(frozen=True, slots=True)
class Grant:
    """A role assignment of one of the job's identities, with the role's name resolved."""

    principal_id: str
    role: str
    scope: str
    principal_type: str | None = None


@dataclass(frozen=True, slots=True)
class Alerting:
    """The alert rules of the job's resource group and the action groups they notify."""

    rules: Mapping[str, Sequence[Mapping[str, Any]]]  # kind (metric, scheduled_query, activity_log) -> ARM JSON
    groups: Mapping[str, Mapping[str, Any] | None] = field(default_factory=dict)  # lower id -> JSON; None: unread


@dataclass(frozen=True, slots=True)
class Facts:
    job: Job
    window: Window
    now: datetime
    settings: Review
    checks: Mapping[str, CheckResult] = field(default_factory=dict)
    environment_body: Mapping[str, Any] | None = None
    executions_list: tuple[Execution, ...] | None = None
    grants_list: tuple[Grant, ...] | None = None
    registries: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # ACR name -> ARM JSON
    vaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # Key Vault name -> ARM JSON
    # "storage NAME" / "namespace NAME" -> the scale rules' storage accounts and Service Bus namespaces (ARM JSON)
    event_sources: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    queues: Mapping[str, QueueDepth] = field(default_factory=dict)  # scale rule name -> its event source
    poison: Mapping[str, QueueDepth] = field(default_factory=dict)  # Storage queue rule name -> its poison queue
    cpu: MetricSeries | None = None  # UsageNanoCores of the job over the window
    owners: Owners | None = None
    channel: str | None = None  # where alerts for the job go; None: unroutable
    logs: Mapping[str, QueryResult] = field(default_factory=dict)  # the review's own canned queries, by name
    log_setup: LogSetup | None = None  # where the job's logs land (for the `az` commands that verify them)
    alerting_read: Alerting | None = None
    usages_list: tuple[Mapping[str, Any], ...] | None = None  # the environment's quota usages (Usage JSON)
    workspace_body: Mapping[str, Any] | None = None  # the Log Analytics workspace the logs land in (ARM JSON)
    unread: Mapping[str, str] = field(default_factory=dict)  # read name -> why it failed

    # -- accessors that turn a failed read into the rule's error ---------------------------------------

    def _need(self, name: str, value: E | None) -> E:
        if value is None:
            raise NotRead(f"{name} could not be read: {self.unread.get(name, 'no answer')}")
        return value

    def environment(self) -> Mapping[str, Any]:
        return self._need("environment", self.environment_body)

    def executions(self) -> tuple[Execution, ...]:
        return self._need("executions", self.executions_list)

    def grants(self) -> tuple[Grant, ...]:
        if "role assignments" in self.unread and self.unread["role assignments"].startswith("n/a:"):
            raise NotApplicable(self.unread["role assignments"][4:].strip())
        return self._need("role assignments", self.grants_list)

    def usages(self) -> tuple[Mapping[str, Any], ...]:
        return self._need("environment usages", self.usages_list)

    def workspace(self) -> Mapping[str, Any]:
        why = self.unread.get("workspace")
        if why is not None and why.startswith("n/a:"):  # logs go to no workspace: nobody reads them there
            raise NotApplicable(why[4:].strip())
        return self._need("workspace", self.workspace_body)

    def alerting(self) -> Alerting:
        why = self.unread.get("alert rules")
        if why is not None and why.startswith("n/a:"):
            raise NotApplicable(why[4:].strip())
        return self._need("alert rules", self.alerting_read)

    def rows(self, query: str) -> tuple[Mapping[str, Any], ...]:
        """The rows of the review's canned query `query` (kql/<query>.kql); its failure is the rule's error."""
        why = self.unread.get(f"query {query}")
        if why is not None and why.startswith("n/a:"):
            raise NotApplicable(why[4:].strip())
        result = self.logs.get(query)
        if result is None:
            raise NotRead(f"{query}.kql could not be read: {why or 'not run'}")
        if result.partial:
            raise NotRead(f"{query}.kql answered only in part: {result.partial}")
        return result.rows

    def evidence(self, check: str, kind: type[E]) -> E:
        """The typed evidence of a triage check; its error is this rule's error, its skip this rule's skip."""
        result = self.checks.get(check)
        if result is None:
            raise NotRead(f"the {check} check did not run")
        if result.status is CheckStatus.SKIPPED:
            raise NotApplicable(result.summary.removeprefix("Skipped: ").rstrip("."))
        found = result.found(kind)
        if found is None:
            raise NotRead(f"the {check} check could not run: {result.error or result.summary}")
        return found

    def event_only(self) -> None:
        """Rules about the event trigger do not apply to Manual or Schedule jobs."""
        if self.job.trigger_type.lower() != EVENT:
            raise NotApplicable(f"{self.job.trigger_type or 'this'} jobs have no event trigger")

    def in_window(self) -> list[Execution]:
        return [e for e in self.executions() if e.start is not None and self.window.start <= e.start <= self.window.end]


def covers(scope: str, resource_id: str) -> bool:
    """Whether an assignment at `scope` applies to `resource_id` (at it or above it)."""
    outer, inner = scope.rstrip("/").lower(), resource_id.rstrip("/").lower()
    return bool(outer) and (inner == outer or inner.startswith(outer + "/"))


def not_read_yet(needs: str) -> NotRead:
    """The reason for a rule whose input jobbot does not read yet (review.md's N-reads)."""
    return NotRead(f"not read yet: needs {needs}")


def source_ids(job: Job) -> dict[str, str]:
    """The scale rules' event sources, by "storage NAME" / "namespace NAME", where they are looked for: the job's
    resource group (as vaults and registries are; SEC-10 reads their network access). Unnamed sources are absent."""
    found: dict[str, str] = {}
    for scale in job.rules:
        kind = SOURCE_KINDS.get(scale.type)
        name = scale.metadata.get(kind[1]) if kind else None
        if kind and name:
            found[f"{kind[0]} {name.lower()}"] = (f"/subscriptions/{job.ref.subscription}/resourceGroups/"
                                                 f"{job.ref.resource_group}/providers/{kind[2]}/{name}")
    return dict(sorted(found.items()))


def poison_queue(job: Job, settings: Review) -> str | None:
    """Where the job's Storage queue messages that keep failing go: `review.poison_queue`, else the job's tag."""
    return settings.poison_queue or job.tags.get(POISON_TAG) or None


def poison_rules(job: Job, settings: Review) -> dict[str, ScaleRule]:
    """Each Storage queue scale rule's poison queue, as a rule naming that queue in the same account."""
    queue = poison_queue(job, settings)
    if not queue or job.trigger_type.lower() != EVENT:
        return {}
    return {r.name: replace(r, metadata={**r.metadata, "queueName": queue})
            for r in job.rules if r.type == "azure-queue"}
