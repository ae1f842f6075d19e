"""Operations rules OPS-01 … OPS-07 (review.md §1)."""

from __future__ import annotations

import re
import shlex

from bot.errors import NotApplicable
from bot.evidence.payloads import ConfigChangesEvidence
from bot.review import alerting
from bot.review.facts import Facts, NotRead
from bot.review.findings import Evidence, Fix, Outcome, Pillar, Status
from bot.review.rule import Rule, az_job, job_source, rule

RULES: list[Rule] = []
OPS = Pillar.OPERATIONS
WRITE = "MICROSOFT.APP/JOBS/WRITE"


@rule(RULES, "OPS-01", OPS, "high", "Owner, tags and name", "PSRule:Azure.Resource.UseTags",
      "PSRule:Azure.ContainerApp.JobNaming")
def owner_and_tags(f: Facts) -> Outcome:
    tags = {k.lower() for k in f.job.tags}
    owner = f.owners.primary if f.owners else None
    missing = sorted(t for t in f.settings.required_tags if t.lower() not in tags)
    pattern = f.settings.name_pattern
    misnamed = bool(pattern) and re.fullmatch(pattern or "", f.job.ref.name) is None
    evidence = Evidence(job_source(f) + " + config jobs." + f.job.ref.name, "tags.owner | owners.primary",
                        {"owner": owner, "missing_tags": missing, "name_matches": not misnamed})
    fix = Fix(az_job(f, "tags"), "tags:\n+  owner: TEAM\n+  oncall: '@TEAM-oncall'")
    if not owner:
        return Outcome(Status.FAIL, "Nobody owns the job: no owner tag and no owners in the config", evidence, fix)
    if missing:
        return Outcome(Status.WARN, f"Required tags missing: {', '.join(missing)}", evidence, fix)
    if misnamed:
        return Outcome(Status.WARN, f"The name does not match name_pattern {pattern}", evidence, fix)
    return Outcome(Status.OK, f"Owned by {owner}", evidence, fix)


def _alerts_cmd(f: Facts, kind: str) -> str:
    return f"az monitor {kind} list --resource-group {shlex.quote(f.job.ref.resource_group)} --query '[].{{name:name," \
           "enabled:enabled}'"


@rule(RULES, "OPS-02", OPS, "high", "Alerts on failed or stuck runs and scaler errors", "WAF:alerts")
def alerts(f: Facts) -> Outcome:
    found = f.alerting()
    rules = alerting.failure_rules(found, f.job.ref.id, f.job.ref.name)
    groups = sorted({i.lower() for r in rules for i in alerting.action_group_ids(r)})
    notified = sorted({who for g in groups for who in alerting.receivers(found.groups.get(g))})
    to_jobbot = any(alerting.reaches_jobbot(found.groups.get(g)) for g in groups)
    evidence = Evidence(f"GET Microsoft.Insights metricAlerts, scheduledQueryRules of {f.job.ref.resource_group} "
                        "+ their actionGroups", "enabled rules on Executions, or log queries naming the job and "
                        "BackoffLimitExceeded|DeadlineExceeded|KEDAScalerFailed",
                        {"rules": alerting.names(rules), "receivers": notified, "to_jobbot": to_jobbot})
    fix = Fix(_alerts_cmd(f, "metrics alert"))
    if not rules:
        return Outcome(Status.FAIL, "No enabled alert fires on the job's failed or stuck executions or scaler errors",
                       evidence, fix)
    if not notified:
        return Outcome(Status.WARN, f"Alert rules {', '.join(alerting.names(rules))} notify nobody (no enabled action "
                                    "group with a receiver)", evidence, fix)
    if not to_jobbot:
        return Outcome(Status.WARN, f"Alerts reach {', '.join(notified)} but not jobbot: no triage is posted when they "
                                    "fire (add a webhook to /alerts/azure-monitor)", evidence, fix)
    return Outcome(Status.OK, f"Alert rules {', '.join(alerting.names(rules))} notify {', '.join(notified)}",
                   evidence, fix)


@rule(RULES, "OPS-03", OPS, "high", "Logs reach a workspace", "Policy:diagnostic-settings")
def logs_exported(f: Facts) -> Outcome:
    env = f.environment()
    logs = (env.get("properties") or {}).get("appLogsConfiguration") or {}
    destination = logs.get("destination")
    evidence = Evidence(f"GET Microsoft.App/managedEnvironments/{env.get('name', '')}",
                        "properties.appLogsConfiguration.destination", destination)
    fix = Fix(f"az containerapp env show --ids {shlex.quote(str(env.get('id', '')))} "
              "--query properties.appLogsConfiguration")
    if not destination or destination == "none":
        return Outcome(Status.FAIL, "The environment exports no logs: failed executions leave no trace", evidence, fix)
    if destination == "azure-monitor" and "log setup" in f.unread:
        return Outcome(Status.FAIL, f"Logs go to Azure Monitor but reach no workspace: {f.unread['log setup']}",
                       evidence, fix)
    return Outcome(Status.OK, f"Logs go to a workspace ({destination}); retention not read yet (N6)", evidence, fix)


@rule(RULES, "OPS-04", OPS, "medium", "Change alerting")
def change_alerts(f: Facts) -> Outcome:
    watched = alerting.change_rules(f.alerting(), f.job.ref.id)
    missing = [what for what in alerting.CHANGE_OPERATIONS.values() if what not in watched]
    evidence = Evidence(f"GET Microsoft.Insights/activityLogAlerts of {f.job.ref.resource_group}",
                        "enabled rules on operationName Microsoft.App/jobs/write, "
                        "Microsoft.Authorization/roleAssignments/write", watched)
    fix = Fix(_alerts_cmd(f, "activity-log alert"))
    if missing:
        return Outcome(Status.WARN, f"No activity log alert on {' or '.join(missing)} of the job", evidence, fix)
    return Outcome(Status.OK, "Activity log alerts watch " + "; ".join(
        f"{what} ({', '.join(rules)})" for what, rules in sorted(watched.items())), evidence, fix)


@rule(RULES, "OPS-05", OPS, "medium", "Changes go through a pipeline", "WAF:OE-IaC")
def via_pipeline(f: Facts) -> Outcome:
    approved = {c.lower() for c in f.settings.approved_callers}
    unread: str | None = None
    try:
        changes = f.evidence("config_changes", ConfigChangesEvidence).changes
    except NotApplicable:
        changes = ()
    except NotRead as why:  # systemData still names the last writer
        changes, unread = (), str(why)
    writers = {c.caller for c in changes if c.caller and c.operation.upper() == WRITE}
    if f.job.last_modified_by and (f.job.last_modified_by_type or "").lower() == "user":
        writers.add(f.job.last_modified_by)
    people = sorted(w for w in writers if "@" in w and w.lower() not in approved)
    evidence = Evidence("Activity Log (triage check config_changes) + systemData", "caller of Microsoft.App/jobs/write",
                        {"writers": sorted(writers), "lastModifiedByType": f.job.last_modified_by_type})
    ref = f.job.ref
    fix = Fix(f"az monitor activity-log list --resource-group {shlex.quote(ref.resource_group)} --offset 30d "
              "--query \"[?operationName.value=='Microsoft.App/jobs/write'].{caller:caller,time:eventTimestamp}\"")
    if people:
        return Outcome(Status.WARN, f"Changed by hand, not by an approved pipeline: {', '.join(people)}", evidence, fix)
    if unread is not None:
        raise NotRead(unread)
    return Outcome(Status.OK, "Changes come from pipelines or approved callers" if writers
                   else "No change to the job in the window", evidence, fix)


@rule(RULES, "OPS-06", OPS, "medium", "Routed channel and runbook")
def routed(f: Facts) -> Outcome:
    evidence = Evidence("config jobs.*.channel | tag jobbot-channel | alert_channel", "channel", f.channel)
    fix = Fix(az_job(f, "tags.\"jobbot-channel\""), "tags:\n+  jobbot-channel: C0TEAM")
    if not f.channel:
        return Outcome(Status.WARN, "Alerts about the job reach no channel (unroutable)", evidence, fix)
    return Outcome(Status.OK, f"Alerts go to {f.channel}", evidence, fix)


@rule(RULES, "OPS-07", OPS, "low", "Expected behaviour recorded")
def expected(f: Facts) -> Outcome:
    declared = f.settings.expected.model_dump(exclude_none=True)
    evidence = Evidence("config review.expected", "runs_per_day, max_duration_s, downstream_max_concurrency", declared)
    fix = Fix(az_job(f, "name"), "review:\n+  expected: {runs_per_day: N, max_duration_s: S, "
                                 "downstream_max_concurrency: C}")
    if not declared:
        return Outcome(Status.WARN, "Nobody recorded what the job is expected to do (review.expected)", evidence, fix)
    return Outcome(Status.OK, "Expected behaviour recorded: " + ", ".join(f"{k} {v}" for k, v in declared.items()),
                   evidence, fix)
