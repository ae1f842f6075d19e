"""The typed schema of jobbot.yaml (pydantic v2): wrong types, unknown keys and out-of-range values are
found all at once, each named by its key path.

Strict on purpose: YAML's `"false"` is a string, not a boolean, and a string where a list is expected is
an error, not a list of characters. Sections may be left empty (`azure:` with nothing under it).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

__all__ = ["ConfigFile", "ValidationError", "problems_of"]


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


class Job(_Strict):
    resource_group: str | None = None
    subscription: str | None = None
    channel: str | None = None
    owners: Annotated[Owners, Section] = Owners()
    runbooks: Annotated[dict[str, str], Section] = {}
    queue: Annotated[dict[str, str], Section] = {}
    post_console_excerpts: bool = False


class Azure(_Strict):
    subscriptions: list[str] = []
    workspace_id: str | None = None
    log_destination: Literal["auto", "log-analytics", "azure-monitor"] = "auto"
    check_deadline_s: Annotated[float, Field(ge=0.5, le=60)] = 4.0


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


class Audit(_Strict):
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 90


class ConfigFile(_Strict):
    azure: Annotated[Azure, Section] = Azure()
    slack: Annotated[Slack, Section] = Slack()
    jobs: Annotated[dict[str, Annotated[Job, Section]], Section] = {}
    access: Annotated[Access, Section] = Access()
    alerts: Annotated[Alerts, Section] = Alerts()
    audit: Annotated[Audit, Section] = Audit()


def problems_of(error: ValidationError, origin: str) -> list[str]:
    """One line per problem: `origin: jobs.orders.owners: Input should be a valid dictionary …`."""
    lines = []
    for item in error.errors(include_url=False):
        path = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"{origin}: {path}: {item['msg']}")
    return lines
