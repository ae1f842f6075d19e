"""jobbot.yaml: one schema shared by every feature, validated at start with every problem listed at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.errors import ConfigError

_TOP = {"azure", "slack", "jobs", "access", "alerts"}
_ACCESS = {"channels", "commands"}
_AZURE = {"subscriptions", "workspace_id", "log_destination", "check_deadline_s"}
_SLACK = {"alert_channel", "user_groups"}
_JOB = {"resource_group", "subscription", "channel", "owners", "runbooks", "queue", "post_console_excerpts"}
_ALERTS = {"group_window_min", "escalate_after_min", "lease_s"}


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
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise ConfigError([f"{origin}: the top level must be a mapping"])
    problems += [f"{origin}: {key}: unknown key" for key in raw if key not in _TOP]
    azure = raw.get("azure") or {}
    problems += [f"{origin}: azure.{key}: unknown key" for key in azure if key not in _AZURE]
    subscriptions = azure.get("subscriptions") or []
    if not isinstance(subscriptions, list) or not all(isinstance(s, str) for s in subscriptions):
        problems.append(f"{origin}: azure.subscriptions: must be a list of subscription ids")
        subscriptions = []
    deadline = azure.get("check_deadline_s", 4.0)
    if not isinstance(deadline, int | float) or not 0.5 <= float(deadline) <= 60:
        problems.append(f"{origin}: azure.check_deadline_s: must be a number of seconds from 0.5 to 60")
        deadline = 4.0
    access = raw.get("access") or {}
    problems += [f"{origin}: access.{key}: unknown key" for key in access if key not in _ACCESS]
    for command, rule in (access.get("commands") or {}).items():
        if not isinstance(rule, dict) or set(rule) - {"users", "user_groups", "channels"}:
            problems.append(f"{origin}: access.commands.{command}: takes users, user_groups and channels")
    slack = raw.get("slack") or {}
    problems += [f"{origin}: slack.{key}: unknown key" for key in slack if key not in _SLACK]
    jobs: dict[str, JobEntry] = {}
    for name, entry in (raw.get("jobs") or {}).items():
        entry = entry or {}
        if not isinstance(entry, dict):
            problems.append(f"{origin}: jobs.{name}: must be a mapping")
            continue
        problems += [f"{origin}: jobs.{name}.{key}: unknown key" for key in entry if key not in _JOB]
        jobs[str(name).lower()] = JobEntry(
            name=str(name),
            resource_group=entry.get("resource_group"),
            subscription=entry.get("subscription"),
            channel=entry.get("channel"),
            owners=entry.get("owners") or {},
            runbooks=entry.get("runbooks") or {},
            queue=entry.get("queue") or {},
            post_console_excerpts=bool(entry.get("post_console_excerpts", False)),
        )
    alerts, alert_problems = _alerts_section(raw.get("alerts"), raw.get("jobs"), origin)
    problems += alert_problems
    if problems:
        raise ConfigError(problems)
    return Config(
        subscriptions=tuple(subscriptions),
        workspace_id=azure.get("workspace_id"),
        check_deadline_s=float(deadline),
        alert_channel=slack.get("alert_channel"),
        directory={str(k).lower(): str(v) for k, v in (slack.get("user_groups") or {}).items()},
        jobs=jobs,
        alerts=alerts,
        raw=raw,
    )


def _alerts_section(section: Any, jobs: Any, origin: str) -> tuple[AlertsConfig, list[str]]:
    """The `alerts:` section, and each job's `owners.escalate_after_min` (alerts are what escalates)."""
    problems: list[str] = []
    section = section or {}
    if not isinstance(section, dict):
        return AlertsConfig(), [f"{origin}: alerts: must be a mapping"]
    problems += [f"{origin}: alerts.{key}: unknown key" for key in section if key not in _ALERTS]
    # Bounds: a window or delay of zero would group or escalate nothing; a lease below a second would
    # hand work to another replica while the first is still doing it.
    limits = {"group_window_min": (0.01, 24 * 60), "escalate_after_min": (0.01, 24 * 60), "lease_s": (1, 3600)}
    values: dict[str, float] = {}
    for key, (low, high) in limits.items():
        value = section.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= float(value) <= high:
            problems.append(f"{origin}: alerts.{key}: must be a number from {low:g} to {high:g}")
            continue
        values[key] = float(value)
    for name, entry in (jobs or {}).items() if isinstance(jobs, dict) else ():
        owners = entry.get("owners") if isinstance(entry, dict) else None
        delay = owners.get("escalate_after_min") if isinstance(owners, dict) else None
        if delay is not None and (isinstance(delay, bool) or not isinstance(delay, int | float)
                                  or not 0.01 <= float(delay) <= 24 * 60):
            problems.append(f"{origin}: jobs.{name}.owners.escalate_after_min: must be a number from 0.01 to 1440")
    return AlertsConfig(**values), problems
