"""jobbot.yaml: one schema shared by every feature, validated at start with every problem listed at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.access import AccessRules, parse_rules
from bot.config_schema import ConfigFile, Review, ValidationError, problems_of
from bot.errors import ConfigError
from bot.model import Owners
from bot.owners import ConfiguredOwners, resolve_owners


@dataclass(frozen=True, slots=True)
class JobEntry:
    name: str
    resource_group: str | None = None
    subscription: str | None = None
    channel: str | None = None
    owners: ConfiguredOwners | None = None  # None: nothing configured, the job's tags say
    runbooks: Mapping[str, str] = field(default_factory=dict)
    queue: Mapping[str, str] = field(default_factory=dict)  # where the event source is, if the rule can't say
    post_console_excerpts: bool = False
    review: Mapping[str, Any] = field(default_factory=dict)  # per-job review overrides: only the keys set


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    """The `alerts:` section: how alert threads group, escalate, and hand work between replicas."""

    group_window_min: float = 30.0  # same rule + same job within this many minutes -> one thread
    escalate_after_min: float = 15.0  # per tier, unless the job's owners say otherwise
    lease_s: float = 60.0  # a replica's hold on an alert's work; after it, another replica takes over
    flap_count: int = 3  # fired (resolving in between) this often within flap_window_min: flapping
    flap_window_min: float = 30.0
    incidents: bool = True  # each firing alert reads its job to see what it shares with others (off: one thread a job)
    incident_min_jobs: int = 3  # jobs sharing a dependency failing within incident_window_min: one incident
    incident_window_min: float = 10.0
    # Environment name (lower-cased) -> the Slack id paged once for an environment-wide incident there.
    platform_owners: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Config:
    subscriptions: tuple[str, ...] = ()
    workspace_id: str | None = None
    # Workspace customer id (lower-cased GUID) -> its ARM id, for Log Analytics links (`logs.workspaces`).
    workspaces: Mapping[str, str] = field(default_factory=dict)
    check_deadline_s: float = 4.0
    reuse_reads_s: float = 30.0  # an answer from Azure serves other triages asking the same for this long
    batch_window_ms: float = 50.0  # while several triages run, a query waits this long for other jobs' (0: off)
    alert_channel: str | None = None
    directory: Mapping[str, str] = field(default_factory=dict)  # owner names in tags -> Slack user/group ids
    jobs: Mapping[str, JobEntry] = field(default_factory=dict)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    audit_retention_days: int = 90  # audit rows older than this are pruned
    access: AccessRules = field(default_factory=AccessRules)
    review: Review = field(default_factory=Review)

    def job(self, name: str) -> JobEntry | None:
        return self.jobs.get(name.lower())

    def review_for(self, name: str) -> Review:
        """The `review:` settings for one job: the global ones with the job's own overrides laid over them."""
        entry = self.job(name)
        if entry is None or not entry.review:
            return self.review
        return self.review.model_copy(update=dict(entry.review))

    def owners_for(self, name: str, tags: Mapping[str, str]) -> Owners | None:
        """Who owns job `name` and who comes next: its `owners` entry, else its tags, as Slack mentions."""
        entry = self.job(name)
        return resolve_owners(tags, entry.owners if entry else None, self.directory)

    def escalate_after_min(self, name: str | None) -> float:
        """Minutes per escalation tier for job `name`: its owners' own, else the `alerts:` default."""
        entry = self.job(name) if name else None
        own = entry.owners.escalate_after_min if entry and entry.owners else None
        return own or self.alerts.escalate_after_min


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
            owners=_owners(entry.owners.model_dump(exclude_defaults=True)),
            runbooks=dict(entry.runbooks),
            queue=dict(entry.queue),
            post_console_excerpts=entry.post_console_excerpts,
            review={k: getattr(entry.review, k) for k in entry.review.model_fields_set},
        )
        for name, entry in parsed.jobs.items()
    }
    alerts = parsed.alerts
    return Config(
        subscriptions=tuple(parsed.azure.subscriptions),
        workspace_id=parsed.azure.workspace_id,
        workspaces=dict(parsed.logs.workspaces),
        check_deadline_s=float(parsed.azure.check_deadline_s),
        reuse_reads_s=float(parsed.azure.reuse_reads_s),
        batch_window_ms=float(parsed.azure.batch_window_ms),
        alert_channel=parsed.slack.alert_channel,
        directory={k.lower(): v for k, v in parsed.slack.user_groups.items()},
        jobs=jobs,
        alerts=AlertsConfig(float(alerts.group_window_min), float(alerts.escalate_after_min), float(alerts.lease_s),
                            int(alerts.flap_count), float(alerts.flap_window_min), bool(alerts.incidents),
                            int(alerts.incident_min_jobs),
                            float(alerts.incident_window_min),
                            {k.lower(): v for k, v in alerts.platform_owners.items()}),
        audit_retention_days=parsed.audit.retention_days,
        review=parsed.review,
        access=parse_rules(parsed.access.model_dump()),
    )


def _owners(configured: dict[str, Any]) -> ConfiguredOwners | None:
    if not configured:
        return None
    after = configured.get("escalate_after_min")
    return ConfiguredOwners(configured.get("primary"), tuple(configured.get("escalation") or ()),
                            float(after) if after is not None else None)
