"""What the alert rules of the job's resource group say about the job (review OPS-02, OPS-04).

Rules are ARM JSON as azure-mgmt-monitor serializes them: metric alerts (`properties.scopes`, `criteria.allOf[]`
with `metricName`, `actions[].actionGroupId`), scheduled query rules (`criteria.allOf[].query`,
`actions.actionGroups[]`) and activity log alerts (`condition.allOf[]` of `field`/`equals` or `anyOf`,
`actions.actionGroups[].actionGroupId`). Matching a log alert to the job is heuristic: its query names the job
and a failure signature, so it "may cover" it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.review.facts import Alerting, covers

FAILURE_SIGNATURES = ("backofflimitexceeded", "deadlineexceeded", "kedascalerfailed")
JOB_METRICS = frozenset({"executions"})
CHANGE_OPERATIONS = {"microsoft.app/jobs/write": "job changes",
                     "microsoft.authorization/roleassignments/write": "role assignment changes"}
RECEIVER_LISTS = ("emailReceivers", "smsReceivers", "webhookReceivers", "itsmReceivers", "azureAppPushReceivers",
                  "automationRunbookReceivers", "voiceReceivers", "logicAppReceivers", "azureFunctionReceivers",
                  "armRoleReceivers", "eventHubReceivers")
WEBHOOK_PATH = "/alerts/azure-monitor"


def _props(item: Mapping[str, Any]) -> Mapping[str, Any]:
    props = item.get("properties")
    return props if isinstance(props, Mapping) else {}


def enabled(rule: Mapping[str, Any]) -> bool:
    return _props(rule).get("enabled", True) is not False


def action_group_ids(rule: Mapping[str, Any]) -> list[str]:
    """The action groups a rule of any kind notifies (its three API shapes)."""
    actions = _props(rule).get("actions")
    found: list[Any] = []
    if isinstance(actions, list):  # metric alert: [{actionGroupId}]
        found = [a.get("actionGroupId") for a in actions if isinstance(a, Mapping)]
    elif isinstance(actions, Mapping):  # scheduled query: [id]; activity log: [{actionGroupId}]
        for entry in actions.get("actionGroups") or []:
            found.append(entry.get("actionGroupId") if isinstance(entry, Mapping) else entry)
    return sorted({str(i) for i in found if i})


def _name(rule: Mapping[str, Any]) -> str:
    return str(rule.get("name") or str(rule.get("id", "")).rsplit("/", 1)[-1])


def failure_rules(alerting: Alerting, job_id: str, job_name: str) -> list[Mapping[str, Any]]:
    """Enabled rules that alert on the job's failed or stuck executions or its scaler."""
    found = []
    for rule in alerting.rules.get("metric", ()):
        metrics = {str(c.get("metricName", "")).lower() for c in _criteria(rule)}
        if enabled(rule) and metrics & JOB_METRICS and any(covers(str(s), job_id) for s in _scopes(rule)):
            found.append(rule)
    for rule in alerting.rules.get("scheduled_query", ()):
        queries = " ".join(str(c.get("query", "")) for c in _criteria(rule)).lower()
        if enabled(rule) and job_name.lower() in queries and any(s in queries for s in FAILURE_SIGNATURES):
            found.append(rule)
    return sorted(found, key=_name)


def change_rules(alerting: Alerting, job_id: str) -> dict[str, list[str]]:
    """What change each enabled activity log alert covering the job watches -> the rules' names."""
    watched: dict[str, list[str]] = {}
    for rule in alerting.rules.get("activity_log", ()):
        if not enabled(rule) or not any(covers(str(s), job_id) for s in _scopes(rule)):
            continue
        operations = {str(c.get("equals", "")).lower() for c in _conditions(_props(rule).get("condition"))
                      if str(c.get("field", "")).lower() == "operationname"}
        for operation in sorted(operations & set(CHANGE_OPERATIONS)):
            watched.setdefault(CHANGE_OPERATIONS[operation], []).append(_name(rule))
    return watched


def receivers(group: Mapping[str, Any] | None) -> list[str]:
    """Who an enabled action group notifies, as 'kind name' (no addresses); [] when disabled or unread."""
    props = _props(group or {})
    if not group or props.get("enabled", True) is False:
        return []
    return sorted(f"{kind.removesuffix('Receivers')} {r.get('name', '?')}" for kind in RECEIVER_LISTS
                  for r in props.get(kind) or [] if isinstance(r, Mapping))


def reaches_jobbot(group: Mapping[str, Any] | None) -> bool:
    props = _props(group or {})
    return props.get("enabled", True) is not False and any(
        WEBHOOK_PATH in str(r.get("serviceUri", "")) for r in props.get("webhookReceivers") or []
        if isinstance(r, Mapping))


def names(rules: Iterable[Mapping[str, Any]]) -> list[str]:
    return [_name(r) for r in rules]


def _scopes(rule: Mapping[str, Any]) -> list[Any]:
    scopes = _props(rule).get("scopes")
    return list(scopes) if isinstance(scopes, list) else []


def _criteria(rule: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    criteria = _props(rule).get("criteria")
    items = criteria.get("allOf") if isinstance(criteria, Mapping) else None
    return [c for c in items or [] if isinstance(c, Mapping)]


def _conditions(condition: Any) -> list[Mapping[str, Any]]:
    """The leaf conditions of an activity log alert's `allOf` (with nested `anyOf`)."""
    if not isinstance(condition, Mapping):
        return []
    leaves: list[Mapping[str, Any]] = []
    for item in condition.get("allOf") or condition.get("anyOf") or []:
        if isinstance(item, Mapping) and ("allOf" in item or "anyOf" in item):
            leaves += _conditions(item)
        elif isinstance(item, Mapping):
            leaves.append(item)
    return leaves
