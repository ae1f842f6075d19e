"""Which job an alert is about, which channel it goes to, and which alerts share a thread (pure).

The job, in order of trust:
1. `alertTargetIDs` naming a `Microsoft.App/jobs` resource (metric and activity log alerts on the job);
2. for log alerts on a workspace, the dimensions `JobName`, `JobName_s`, `jobName` (the job's metric
   dimension) or `_ResourceId` (a job's ARM id);
3. the config catalog: the one catalog job named in the rule, its description or its search query.

The channel: the job's catalog entry, else the job's `jobbot-channel` tag, else the default alert
channel (`JOBBOT_ALERT_CHANNEL`, `slack.alert_channel`); with none of these the alert is unroutable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.alerts.schema import Alert
from bot.config import Config
from bot.kql import JOB_NAME_RE

CHANNEL_TAG = "jobbot-channel"
JOB_DIMENSIONS = ("jobname", "jobname_s")
RESOURCE_DIMENSIONS = ("_resourceid", "resourceid")
_JOB_ID = re.compile(
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.App/jobs/(?P<name>[^/]+)",
    re.IGNORECASE,
)
_CHANNEL_ID = re.compile(r"\A[CGD][A-Z0-9]{2,}\Z")


@dataclass(frozen=True, slots=True)
class JobTarget:
    name: str
    resource_group: str | None = None
    subscription: str | None = None
    found_by: str = ""  # how it was found, said in the message ("alert target", "dimension JobName_s" …)


@dataclass(frozen=True, slots=True)
class Route:
    channel: str | None
    source: str  # catalog | tag | default | none


def find_job(alert: Alert, config: Config) -> JobTarget | None:
    """The job the alert is about, or None when nothing in the alert or the catalog names one."""
    for target in alert.target_ids:
        job = _from_id(target, "alert target")
        if job is not None:
            return job
    for dimension in alert.dimensions:
        key = dimension.name.lower()
        if key in JOB_DIMENSIONS and _valid(dimension.value):
            return JobTarget(dimension.value.lower(), found_by=f"dimension {dimension.name}")
        if key in RESOURCE_DIMENSIONS:
            job = _from_id(dimension.value, f"dimension {dimension.name}")
            if job is not None:
                return job
    return _from_catalog(alert, config)


def choose_route(job: JobTarget | None, tags: Mapping[str, str] | None, config: Config,
                 default_channel: str | None) -> Route:
    """Catalog channel, else the `jobbot-channel` tag, else the default alert channel, else none."""
    entry = config.job(job.name) if job else None
    if entry is not None and entry.channel:
        return Route(entry.channel, "catalog")
    tagged = _tag(tags or {}, CHANNEL_TAG)
    if tagged:
        return Route(tagged.lstrip("#") if _CHANNEL_ID.match(tagged.lstrip("#")) else tagged, "tag")
    fallback = default_channel or config.alert_channel
    if fallback:
        return Route(fallback, "default")
    return Route(None, "none")


def group_key(alert: Alert, job: JobTarget | None) -> str:
    """Alerts with the same key may share a thread: the same rule on the same job. With no job known,
    nothing says two alerts are about the same thing, so each alert keys alone."""
    rule = (alert.rule_id or alert.rule).lower()
    if job is None:
        return f"{rule}|alert:{alert.alert_id.lower()}"
    return f"{rule}|job:{job.name.lower()}"


def _from_id(resource_id: str, found_by: str) -> JobTarget | None:
    match = _JOB_ID.search(resource_id)
    if match is None or not _valid(match.group("name")):
        return None
    return JobTarget(match.group("name").lower(), match.group("rg"), match.group("sub"), found_by)


def _from_catalog(alert: Alert, config: Config) -> JobTarget | None:
    """The one catalog job whose name the alert's own words mention; two or more is a guess, so none."""
    texts = [alert.rule, alert.description, *alert.configuration_items,
             *(c.search_query or "" for c in alert.criteria)]
    found = {name for name in config.jobs if any(_mentions(text, name) for text in texts)}
    # A name inside a longer catalog name ("orders" in "orders-processor") is not a second candidate.
    found = {name for name in found if not any(other != name and name in other for other in found)}
    if len(found) != 1:
        return None
    name = found.pop()
    entry = config.jobs[name]
    return JobTarget(entry.name.lower(), entry.resource_group, entry.subscription, "catalog")


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9-]){re.escape(name)}(?![A-Za-z0-9-])", text, re.IGNORECASE) is not None


def _valid(name: str) -> bool:
    return JOB_NAME_RE.fullmatch(name) is not None


def _tag(tags: Mapping[str, str], name: str) -> str | None:
    for key, value in tags.items():
        if key.lower() == name and str(value).strip():
            return str(value).strip()
    return None
