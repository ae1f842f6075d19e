"""`jobbot doctor` on environment-wide incidents: whether they can be posted, and who they page. Pure."""

from __future__ import annotations

from bot.alerts.incidents import CATCH_ALL
from bot.config import Config
from bot.doctor.model import Finding, Status

CHECK = "environment-wide incidents"


def incident_finding(config: Config, alert_channel: str | None) -> Finding:
    """An incident is posted in the alert channel and holds its jobs' own escalations, paging one platform
    owner instead: without the channel there is no incident, without an owner the first job's owner is paged."""
    alerts = config.alerts
    if not alerts.incidents:
        return Finding("config", CHECK, Status.SKIPPED,
                       "alerts.incidents is false: every job's alerts keep a thread of their own")
    rule = (f"{alerts.incident_min_jobs} jobs sharing a dependency failing within "
            f"{alerts.incident_window_min:g} min")
    if not alert_channel:  # the Slack check says how to set one
        return Finding("config", CHECK, Status.SKIPPED,
                       f"no alert channel to post an incident in: {rule} still get one thread each")
    owners = alerts.platform_owners
    if not owners:
        return Finding("config", CHECK, Status.WARN,
                       f"no platform owner: an incident ({rule}) holds the jobs' own escalations and pages the "
                       "owner of the job whose alert opened it",
                       "set alerts.platform_owners in jobbot.yaml: an environment's name (or \"*\" for the "
                       "rest) -> the Slack user or user-group id to page")
    named = ", ".join(sorted(f'"{k}"' if k == CATCH_ALL else k for k in owners))
    rest = "" if CATCH_ALL in owners else "; other environments page the owner of the job that opened it"
    return Finding("config", CHECK, Status.OK, f"{rule} share one thread; platform owners for {named}{rest}")
