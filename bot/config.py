"""jobbot.yaml: one schema shared by every feature, validated at start with every problem listed at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.config_schema import ConfigFile, ValidationError, problems_of
from bot.errors import ConfigError


@dataclass(frozen=True, slots=True)
class JobEntry:
    name: str
    resource_group: str | None = None
    subscription: str | None = None
    channel: str | None = None
    owners: Mapping[str, Any] = field(default_factory=dict)
    runbooks: Mapping[str, str] = field(default_factory=dict)
    queue: Mapping[str, str] = field(default_factory=dict)  # where the event source is, if the rule can't say
    post_console_excerpts: bool = False


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    """The `alerts:` section: how alert threads group, escalate, and hand work between replicas."""

    group_window_min: float = 30.0  # same rule + same job within this many minutes -> one thread
    escalate_after_min: float = 15.0  # per tier, unless the job's owners say otherwise
    lease_s: float = 60.0  # a replica's hold on an alert's work; after it, another replica takes over


@dataclass(frozen=True, slots=True)
class Config:
    subscriptions: tuple[str, ...] = ()
    workspace_id: str | None = None
    check_deadline_s: float = 4.0
    alert_channel: str | None = None
    directory: Mapping[str, str] = field(default_factory=dict)  # owner names in tags -> Slack user/group ids
    jobs: Mapping[str, JobEntry] = field(default_factory=dict)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    audit_retention_days: int = 90  # audit rows older than this are pruned
    raw: Mapping[str, Any] = field(default_factory=dict)  # sections owned by later features (access, alerts)

    def job(self, name: str) -> JobEntry | None:
        return self.jobs.get(name.lower())


def load_config(path: str | Path | None) -> Config:
    if path is None:
        return Config()
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError([f"{path}: cannot read: {error}"]) from None
    return parse_config(raw, str(path))


def parse_config(raw: Any, origin: str = "config") -> Config:
    """Validate `raw` (the parsed YAML) against the typed schema; ConfigError lists every problem at once."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError([f"{origin}: the top level must be a mapping"])
    try:
        parsed = ConfigFile.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(problems_of(error, origin)) from None
    jobs = {
        name.lower(): JobEntry(
            name=name,
            resource_group=entry.resource_group,
            subscription=entry.subscription,
            channel=entry.channel,
            owners=entry.owners.model_dump(exclude_defaults=True),
            runbooks=dict(entry.runbooks),
            queue=dict(entry.queue),
            post_console_excerpts=entry.post_console_excerpts,
        )
        for name, entry in parsed.jobs.items()
    }
    alerts = parsed.alerts
    return Config(
        subscriptions=tuple(parsed.azure.subscriptions),
        workspace_id=parsed.azure.workspace_id,
        check_deadline_s=float(parsed.azure.check_deadline_s),
        alert_channel=parsed.slack.alert_channel,
        directory={k.lower(): v for k, v in parsed.slack.user_groups.items()},
        jobs=jobs,
        alerts=AlertsConfig(float(alerts.group_window_min), float(alerts.escalate_after_min), float(alerts.lease_s)),
        audit_retention_days=parsed.audit.retention_days,
        # Sections read as plain mappings elsewhere (access) are the validated ones, defaults filled in.
        raw={**raw, "access": parsed.access.model_dump()},
    )
