"""The typed schema of jobbot.yaml (pydantic v2): wrong types, unknown keys and out-of-range values are
found all at once, each named by its key path.

Strict on purpose: YAML's `"false"` is a string, not a boolean, and a string where a list is expected is
an error, not a list of characters. Sections may be left empty (`azure:` with nothing under it).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

__all__ = ["ConfigFile", "Review", "ValidationError", "problems_of"]


def _empty_is_default(value: Any) -> Any:
    """`key:` with nothing under it (YAML null) means the section's defaults."""
    return {} if value is None else value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


Minutes = Annotated[float, Field(ge=0.01, le=24 * 60)]
Section = BeforeValidator(_empty_is_default)


class Owners(_Strict):
    primary: str | None = None
    escalation: list[str] = []
    escalate_after_min: Minutes | None = None

    @field_validator("escalation", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        # As in job tags: "S0LEAD, U0MGR" is the same chain as ["S0LEAD", "U0MGR"].
        return [v for v in re.split(r"[,;\s]+", value) if v] if isinstance(value, str) else value


Ratio = Annotated[float, Field(ge=0, le=1)]
Seconds = Annotated[float, Field(gt=0, le=30 * 86400)]


class Expected(_Strict):
    """What the job's owners expect of it (review OPS-07, REL-10): a review compares it with what ran."""

    runs_per_day: Annotated[float, Field(ge=0)] | None = None
    max_duration_s: Seconds | None = None
    downstream_max_concurrency: Annotated[int, Field(ge=1)] | None = None


class ReviewThresholds(_Strict):
    """`review:` thresholds (review.md): starting points, each overridable per job under `jobs.NAME.review`."""

    max_writers: Annotated[int, Field(ge=0)] = 5
    monthly_budget: Annotated[float, Field(ge=0)] | None = None
    empty_run_s: Seconds = 10.0
    min_polling_s: Seconds = 10.0
    min_timeout_s: Seconds = 60.0  # a timeout judged without succeeded runs: below this, start-up alone can hit it
    allowed_registries: list[str] = []
    approved_callers: list[str] = []
    required_tags: list[str] = []
    name_pattern: str | None = None
    messages_per_execution: Annotated[int, Field(ge=1)] = 1
    message_id_regex: str | None = None
    poison_queue: str | None = None  # REL-04: where the workload moves a Storage queue message that keeps failing
    pickup_slo_s: Seconds = 120.0
    log_gb_day: Annotated[float, Field(gt=0)] = 1.0
    failure_warn: Ratio = 0.05
    failure_fail: Ratio = 0.20
    expected: Annotated[Expected, Section] = Expected()


class Rates(_Strict):
    """Consumption-plan active rates per second (review.md §2); the report prints the source and date."""

    currency: str = "USD"
    vcpu_s: Annotated[float, Field(ge=0)] = 0.000024
    gib_s: Annotated[float, Field(ge=0)] = 0.000003
    la_gb: Annotated[float, Field(ge=0)] | None = None
    source: str = ("Microsoft's quoted pay-as-you-go Central US consumption rates (Apps on Azure blog); "
                   "confirm on azure.microsoft.com/pricing/details/container-apps")
    as_of: str | None = None


class Review(ReviewThresholds):
    rates: Annotated[Rates, Section] = Rates()


class JobReview(_Strict):
    """Per-job overrides of `review:` thresholds: only the keys given replace the global ones."""

    max_writers: Annotated[int, Field(ge=0)] | None = None
    monthly_budget: Annotated[float, Field(ge=0)] | None = None
    empty_run_s: Seconds | None = None
    min_polling_s: Seconds | None = None
    min_timeout_s: Seconds | None = None
    allowed_registries: list[str] | None = None
    approved_callers: list[str] | None = None
    required_tags: list[str] | None = None
    name_pattern: str | None = None
    messages_per_execution: Annotated[int, Field(ge=1)] | None = None
    message_id_regex: str | None = None
    poison_queue: str | None = None
    pickup_slo_s: Seconds | None = None
    log_gb_day: Annotated[float, Field(gt=0)] | None = None
    failure_warn: Ratio | None = None
    failure_fail: Ratio | None = None
    expected: Annotated[Expected, Section] | None = None


class Job(_Strict):
    resource_group: str | None = None
    subscription: str | None = None
    channel: str | None = None
    owners: Annotated[Owners, Section] = Owners()
    runbooks: Annotated[dict[str, str], Section] = {}
    queue: Annotated[dict[str, str], Section] = {}
    post_console_excerpts: bool = False
    review: Annotated[JobReview, Section] = JobReview()


class Azure(_Strict):
    subscriptions: list[str] = []
    workspace_id: str | None = None
    log_destination: Literal["auto", "log-analytics", "azure-monitor"] = "auto"
    check_deadline_s: Annotated[float, Field(ge=0.5, le=60)] = 4.0
    # Seconds an answer from Azure serves other triages asking the same (0: never reused).
    reuse_reads_s: Annotated[float, Field(ge=0, le=600)] = 30.0
    # Milliseconds a query waits, while other triages run, for the same query of other jobs (0: never).
    batch_window_ms: Annotated[float, Field(ge=0, le=1000)] = 50.0


_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_WORKSPACE_ID = re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
                           r"Microsoft\.OperationalInsights/workspaces/[^/]+$", re.IGNORECASE)


def _customer_id(value: str) -> str:
    if not _GUID.match(value):
        raise ValueError("must be a workspace's customer id (a GUID, as appLogsConfiguration names it)")
    return value.lower()


def _workspace_id(value: str) -> str:
    if not _WORKSPACE_ID.match(value):
        raise ValueError("must be a Log Analytics workspace's ARM id "
                         "(/subscriptions/…/resourceGroups/…/providers/Microsoft.OperationalInsights/workspaces/…)")
    return value


class Logs(_Strict):
    # customer id (GUID) -> the workspace's ARM id: for portal links, without asking Resource Graph.
    workspaces: Annotated[dict[Annotated[str, AfterValidator(_customer_id)], Annotated[str, AfterValidator(
        _workspace_id)]], Section] = {}


class Slack(_Strict):
    alert_channel: str | None = None
    user_groups: Annotated[dict[str, str], Section] = {}


class Rule(_Strict):
    users: list[str] = []
    user_groups: list[str] = []
    channels: list[str] | None = None


class Access(_Strict):
    channels: list[str] | None = None
    commands: Annotated[dict[str, Annotated[Rule, Section]], Section] = {}


class Alerts(_Strict):
    group_window_min: Minutes = 30.0
    escalate_after_min: Minutes = 15.0
    lease_s: Annotated[float, Field(ge=1, le=3600)] = 60.0
    flap_count: Annotated[int, Field(ge=2, le=100, strict=True)] = 3
    flap_window_min: Minutes = 30.0
    incidents: Annotated[bool, Field(strict=True)] = True
    incident_min_jobs: Annotated[int, Field(ge=2, le=1000, strict=True)] = 3
    incident_window_min: Minutes = 10.0
    # Environment name -> the platform owner's Slack user or user-group id (U…, W…, S…).
    platform_owners: Annotated[dict[str, Annotated[str, Field(pattern=r"^[UWS][A-Z0-9]{6,}$")]], Section] = {}


class Audit(_Strict):
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 90


class ConfigFile(_Strict):
    azure: Annotated[Azure, Section] = Azure()
    slack: Annotated[Slack, Section] = Slack()
    logs: Annotated[Logs, Section] = Logs()
    jobs: Annotated[dict[str, Annotated[Job, Section]], Section] = {}
    access: Annotated[Access, Section] = Access()
    alerts: Annotated[Alerts, Section] = Alerts()
    audit: Annotated[Audit, Section] = Audit()
    review: Annotated[Review, Section] = Review()


def problems_of(error: ValidationError, origin: str) -> list[str]:
    """One line per problem: `origin: jobs.orders.owners: Input should be a valid dictionary …`."""
    lines = []
    for item in error.errors(include_url=False):
        path = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"{origin}: {path}: {item['msg']}")
    return lines
