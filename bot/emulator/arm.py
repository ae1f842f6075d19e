"""ARM (management.azure.com) reads of one scenario, in the REST shapes the SDKs deserialize.

Container Apps jobs, executions and detectors; the managed environment, its quota usages (`usages`), its
diagnostic settings and
the Log Analytics workspace they name; job metrics; the Activity Log; Service Bus namespaces,
queues and topic subscriptions; role assignments and role definitions (`authorization`); the alert rules and
action groups of a scenario's `alert_rules` and `action_groups`, served as written; and any
other resource of the scenario's `resources` by its id, served as written (even a Service Bus namespace
the emulator would build from `queues`), except that an entry with the environment's id is laid over
the environment the emulator builds, so a scenario changes only what it needs to there.
Paths are matched case-insensitively and names compared lower-cased, as ARM does; bodies are served
as the scenario wrote them.

This module routes, pages and answers 404s; the Azure Monitor bodies (metrics, Activity Log,
diagnostic settings, workspace) come from `monitor` and the Service Bus ones from `servicebus`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.emulator import authorization, monitor, servicebus, usages
from bot.emulator.scenario import MetricSeries, Scenario
from bot.emulator.shuffle import Shuffle

PAGE_SIZE = 50
# The alert-rule list routes by their path's type, to the scenario's `alert_rules` key.
_ALERT_KINDS = {"metricalerts": "metric", "scheduledqueryrules": "scheduled_query", "activitylogalerts": "activity_log"}

_SUB = r"/subscriptions/(?P<sub>[^/]+)"
_RG = _SUB + r"/resourcegroups/(?P<rg>[^/]+)"
_JOB = _RG + r"/providers/microsoft\.app/jobs/(?P<job>[^/]+)"
_ENV = _RG + r"/providers/microsoft\.app/managedenvironments/(?P<env>[^/]+)"
_NS = _RG + r"/providers/microsoft\.servicebus/namespaces/(?P<ns>[^/]+)"
_AUTH = r"(?P<scope>(?:/.+?)?)/providers/microsoft\.authorization"
_SCOPE = re.compile(_SUB + r"(?:/resourcegroups/(?P<rg>[^/]+))?", re.IGNORECASE)

Key = tuple[str, ...]
Handler = Callable[[web.Request, re.Match[str]], web.Response]


def arm_json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """A JSON answer with the request-id headers ARM sends."""
    request_id = str(uuid.uuid4())
    all_headers = {"x-ms-request-id": request_id, "x-ms-correlation-request-id": request_id}
    all_headers.update(headers or {})
    return web.json_response(body, status=status, headers=all_headers, content_type="application/json")


def arm_error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    """ARM's error body: {"error": {"code", "message"}}."""
    return arm_json({"error": {"code": code, "message": message}}, status=status, headers=headers)


@dataclass(frozen=True, slots=True)
class _Job:
    body: dict[str, Any]  # as served: the scenario's job without `executions`
    executions: list[dict[str, Any]]
    key: Key  # (subscription, resource group, name), lower-cased
    location: str


@dataclass(frozen=True, slots=True)
class _Environment:
    id: str
    name: str
    key: Key
    location: str


class ArmWorld:
    """The ARM view of one scenario; `handle` answers a GET on a normalised path."""

    def __init__(self, scenario: Scenario, *, shuffle: Shuffle | None = None) -> None:
        self.scenario = scenario
        self.shuffle = shuffle  # lists in no promised order, as ARM serves them
        self.subscriptions = {scenario.subscription.lower()}
        self.resource_groups: set[Key] = set()
        self.jobs: dict[Key, _Job] = {}
        self.environments: dict[Key, _Environment] = {}
        for raw in scenario.jobs:
            self._add_job(raw)
        first_job = next(iter(self.jobs.values()), None)
        self.namespaces: dict[Key, servicebus.Namespace] = servicebus.namespaces(
            scenario.queues,
            scenario.subscription,
            resource_group=_split_id(first_job.body["id"])[1] if first_job else "rg",
            location=first_job.location if first_job else "westeurope",
        )
        self.resource_groups |= {ns.key[:2] for ns in self.namespaces.values()}
        self.events = monitor.activity_events(scenario.tables.get("AzureActivity", []), scenario.subscription)
        self.resources: dict[str, dict[str, Any]] = {}
        for resource in scenario.resources:
            self.resources[str(resource["id"]).lower()] = resource
            self._register_scope(str(resource["id"]))
        for assignment in scenario.role_assignments:
            self._register_scope(str(assignment["id"]))
            self._register_scope(str((assignment.get("properties") or {}).get("scope", "")))
        self.metrics: dict[tuple[Key, str], MetricSeries] = {}
        for series in scenario.metrics:
            job = next(j for j in self.jobs.values() if j.key[2] == series.job.lower())
            self.metrics[(job.key, series.name.lower())] = series
        self._routes: list[tuple[re.Pattern[str], Handler]] = [
            (re.compile(f"^{pattern}$", re.IGNORECASE), handler)
            for pattern, handler in (
                (_AUTH + r"/roleassignments", self._list_role_assignments),
                (_AUTH + r"/roleassignments/(?P<name>[^/]+)", self._get_role_assignment),
                (_AUTH + r"/roledefinitions", self._list_role_definitions),
                (_AUTH + r"/roledefinitions/(?P<name>[^/]+)", self._get_role_definition),
                (_SUB + r"/providers/microsoft\.app/jobs", self._list_jobs),
                (_RG + r"/providers/microsoft\.app/jobs", self._list_jobs),
                (_JOB, self._get_job),
                (_JOB + r"/executions", self._list_executions),
                (_JOB + r"/executions/(?P<execution>[^/]+)", self._get_execution),
                (_JOB + r"/detectors", self._list_detectors),
                (_JOB + r"/detectors/(?P<detector>[^/]+)", self._get_detector),
                (_ENV, self._get_environment),
                (_ENV + r"/usages", self._list_usages),
                (_ENV + r"/providers/microsoft\.insights/diagnosticsettings", self._list_diagnostics),
                (
                    _ENV + r"/providers/microsoft\.insights/diagnosticsettings/(?P<setting>[^/]+)",
                    self._get_diagnostic,
                ),
                (_RG + r"/providers/microsoft\.operationalinsights/workspaces/(?P<ws>[^/]+)", self._workspace),
                (_RG + r"/providers/microsoft\.insights/(?P<kind>metricalerts|scheduledqueryrules|activitylogalerts)",
                 self._list_alert_rules),
                (_RG + r"/providers/microsoft\.insights/actiongroups/(?P<name>[^/]+)", self._get_action_group),
                (r"(?P<resource>/subscriptions/.+?)/providers/microsoft\.insights/metrics", self._metrics),
                (_SUB + r"/providers/microsoft\.insights/eventtypes/management/values", self._activity),
                (_SUB + r"/providers/microsoft\.servicebus/namespaces", self._list_namespaces),
                (_RG + r"/providers/microsoft\.servicebus/namespaces", self._list_namespaces),
                (_NS, self._get_namespace),
                (_NS + r"/queues/(?P<queue>[^/]+)", self._get_queue),
                (_NS + r"/topics/(?P<topic>[^/]+)", self._get_topic),
                (_NS + r"/topics/(?P<topic>[^/]+)/subscriptions/(?P<entity>[^/]+)", self._get_subscription),
            )
        ]

    # --- building -------------------------------------------------------------------------------

    def _add_job(self, raw: dict[str, Any]) -> None:
        sub, rg, name = _split_id(raw["id"])
        key = (sub.lower(), rg.lower(), name.lower())
        location = str(raw.get("location", ""))
        executions = [
            {
                "id": f"{raw['id']}/executions/{execution['name']}",
                "type": "Microsoft.App/jobs/executions",
                **execution,
            }
            for execution in raw.get("executions", [])
        ]
        body = {k: v for k, v in raw.items() if k != "executions"}
        self.jobs[key] = _Job(body=body, executions=executions, key=key, location=location)
        self.subscriptions.add(key[0])
        self.resource_groups.add(key[:2])
        properties = raw.get("properties")
        env_id = properties.get("environmentId") if isinstance(properties, dict) else None
        env = _ENV_ID.match(env_id) if isinstance(env_id, str) else None
        if env is not None and isinstance(env_id, str):
            env_key = (env["sub"].lower(), env["rg"].lower(), env["env"].lower())
            self.environments.setdefault(env_key, _Environment(env_id, env["env"], env_key, location))
            self.subscriptions.add(env_key[0])
            self.resource_groups.add(env_key[:2])

    def _register_scope(self, resource_id: str) -> None:
        scope = _SCOPE.match(resource_id)
        if scope is not None:
            self.subscriptions.add(scope["sub"].lower())
            if scope["rg"] is not None:
                self.resource_groups.add((scope["sub"].lower(), scope["rg"].lower()))

    # --- dispatch -------------------------------------------------------------------------------

    def handle(self, request: web.Request, path: str) -> web.Response:
        scope = _SCOPE.match(path)
        if scope is not None:
            sub, rg = scope["sub"], scope["rg"]
            if sub.lower() not in self.subscriptions:
                return arm_error(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
            if rg is not None and (sub.lower(), rg.lower()) not in self.resource_groups:
                return arm_error(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        resource = self.resources.get(path.lower())
        if resource is not None and _ENV_ID.match(path) is None:
            return arm_json(resource)  # as written, even where the emulator would build one (a namespace)
        for pattern, handler in self._routes:
            match = pattern.match(path)
            if match is not None:
                return handler(request, match)
        return _not_found(path)

    # --- Container Apps jobs ----------------------------------------------------------------------

    def _list_jobs(self, request: web.Request, m: re.Match[str]) -> web.Response:
        scope = _keys(m, "sub", "rg")
        return self._page(request, [j.body for j in self.jobs.values() if j.key[: len(scope)] == scope])

    def _job(self, m: re.Match[str]) -> _Job | None:
        return self.jobs.get(_keys(m, "sub", "rg", "job"))

    def _get_job(self, request: web.Request, m: re.Match[str]) -> web.Response:
        job = self._job(m)
        return arm_json(job.body) if job else _missing("Microsoft.App/jobs", m["job"], m["rg"])

    def _list_executions(self, request: web.Request, m: re.Match[str]) -> web.Response:
        job = self._job(m)
        if job is None:
            return _missing("Microsoft.App/jobs", m["job"], m["rg"])
        return self._page(request, job.executions)

    def _get_execution(self, request: web.Request, m: re.Match[str]) -> web.Response:
        job = self._job(m)
        if job is None:
            return _missing("Microsoft.App/jobs", m["job"], m["rg"])
        wanted = m["execution"].lower()
        found = next((e for e in job.executions if str(e["name"]).lower() == wanted), None)
        return arm_json(found) if found else _missing("Microsoft.App/jobs/executions", m["execution"], m["rg"])

    def _detectors(self, job: _Job) -> list[dict[str, Any]]:
        name = "cappjobContainerAppAvailabilityMetrics"
        return [
            {
                "id": f"{job.body['id']}/detectors/{name}",
                "name": name,
                "type": "Microsoft.App/containerapps/detectors",
                "properties": {
                    "metadata": {
                        "id": name,
                        "name": "Availability Metrics for Container App Jobs",
                        "author": "",
                        "category": "Availability and Performance",
                        "supportTopicList": [],
                        "type": "Analysis",
                        "score": 0,
                    },
                    "dataset": [],
                    "status": {"statusId": 4},
                },
            }
        ]

    def _list_detectors(self, request: web.Request, m: re.Match[str]) -> web.Response:
        job = self._job(m)
        return self._page(request, self._detectors(job)) if job else _missing("Microsoft.App/jobs", m["job"], m["rg"])

    def _get_detector(self, request: web.Request, m: re.Match[str]) -> web.Response:
        job = self._job(m)
        if job is None:
            return _missing("Microsoft.App/jobs", m["job"], m["rg"])
        wanted = m["detector"].lower()
        found = next((d for d in self._detectors(job) if d["name"].lower() == wanted), None)
        return arm_json(found) if found else _missing("detectors", m["detector"], m["rg"])

    # --- managed environment, diagnostic settings, workspace ----------------------------------------

    def _environment(self, m: re.Match[str]) -> _Environment | None:
        return self.environments.get(_keys(m, "sub", "rg", "env"))

    def _get_environment(self, request: web.Request, m: re.Match[str]) -> web.Response:
        env = self._environment(m)
        if env is None:
            return _missing("Microsoft.App/managedEnvironments", m["env"], m["rg"])
        logs: dict[str, Any] = {"destination": self.scenario.log_destination}
        if self.scenario.log_destination == "log-analytics":
            logs["logAnalyticsConfiguration"] = {"customerId": self.scenario.workspace_id}
        built = {
            "id": env.id,
            "name": env.name,
            "type": "Microsoft.App/managedEnvironments",
            "location": env.location,
            "properties": {
                "provisioningState": "Succeeded",
                "appLogsConfiguration": logs,
                "defaultDomain": f"{env.name}.{_slug(env.location)}.azurecontainerapps.io",
                "zoneRedundant": False,
                "workloadProfiles": [{"name": "Consumption", "workloadProfileType": "Consumption"}],
            },
        }
        return arm_json(_overlay(built, self.resources.get(env.id.lower(), {})))

    def _list_usages(self, request: web.Request, m: re.Match[str]) -> web.Response:
        env = self._environment(m)
        if env is None:
            return _missing("Microsoft.App/managedEnvironments", m["env"], m["rg"])
        scenario_jobs = [{**j.body, "executions": j.executions} for j in self.jobs.values()]
        return arm_json(usages.usages_body(scenario_jobs, env.id))

    def _diagnostic_settings(self, env: _Environment) -> list[dict[str, Any]]:
        if self.scenario.log_destination != "azure-monitor":
            return []
        return [monitor.diagnostic_setting(env.id, self._workspace_id(env))]

    def _workspace_id(self, env: _Environment) -> str:
        sub, rg, _ = _split_env(env.id)
        return monitor.workspace_id(sub, rg, env.name)

    def _list_diagnostics(self, request: web.Request, m: re.Match[str]) -> web.Response:
        env = self._environment(m)
        if env is None:
            return _missing("Microsoft.App/managedEnvironments", m["env"], m["rg"])
        return arm_json({"value": self._in_any_order(request, self._diagnostic_settings(env))})

    def _get_diagnostic(self, request: web.Request, m: re.Match[str]) -> web.Response:
        env = self._environment(m)
        wanted = m["setting"].lower()
        found = next((s for s in (self._diagnostic_settings(env) if env else []) if s["name"] == wanted), None)
        return arm_json(found) if found else _missing("diagnosticSettings", m["setting"], m["rg"])

    def _workspace(self, request: web.Request, m: re.Match[str]) -> web.Response:
        for env in self.environments.values() if self.scenario.log_destination == "azure-monitor" else ():
            found = self._workspace_id(env)
            if env.key[:2] == _keys(m, "sub", "rg") and found.rsplit("/", 1)[-1].lower() == m["ws"].lower():
                return arm_json(monitor.workspace_body(found, env.location, self.scenario.workspace_id))
        return _missing("Microsoft.OperationalInsights/workspaces", m["ws"], m["rg"])

    # --- role assignments and role definitions ------------------------------------------------------

    def _list_role_assignments(self, request: web.Request, m: re.Match[str]) -> web.Response:
        try:
            wanted = authorization.parse_assignment_filter(request.query.get("$filter"))
        except authorization.UnsupportedFilter as exc:
            return arm_error(400, "UnsupportedQuery", str(exc))
        found = authorization.assignments_for(self.scenario.role_assignments, m["scope"], wanted)
        return _page(request, [dict(a) for a in found])

    def _get_role_assignment(self, request: web.Request, m: re.Match[str]) -> web.Response:
        wanted = f"{m['scope']}/providers/Microsoft.Authorization/roleAssignments/{m['name']}".lower()
        found = next((a for a in self.scenario.role_assignments if str(a["id"]).lower() == wanted), None)
        if found is None:
            return arm_error(404, "RoleAssignmentNotFound", f"The role assignment '{m['name']}' is not found.")
        return arm_json(found)

    def _list_role_definitions(self, request: web.Request, m: re.Match[str]) -> web.Response:
        try:
            found = authorization.role_definitions_for(self.scenario.role_definitions, request.query.get("$filter"))
        except authorization.UnsupportedFilter as exc:
            return arm_error(400, "UnsupportedQuery", str(exc))
        return _page(request, [dict(d) for d in found])

    def _get_role_definition(self, request: web.Request, m: re.Match[str]) -> web.Response:
        found = authorization.role_definition(self.scenario.role_definitions, m["name"])
        if found is None:
            return arm_error(404, "RoleDefinitionDoesNotExist", f"The specified role definition with ID '{m['name']}' "
                             "does not exist.")
        return arm_json(found)

    # --- alert rules and action groups (review OPS-02 / OPS-04) ---------------------------------------
    # Bodies are the scenario's, as written: metric alerts and scheduled query rules in the shapes of the REST
    # examples getMetricAlertSingleResource.json and getScheduledQueryRule.json (azure-rest-api-specs, see
    # ../shared/azure-samples/SOURCES.md); activity log alerts and action groups as their REST specs define them.

    def _list_alert_rules(self, request: web.Request, m: re.Match[str]) -> web.Response:
        kind = _ALERT_KINDS[m["kind"].lower()]
        group = f"/subscriptions/{m['sub']}/resourcegroups/{m['rg']}/".lower()
        found = [dict(r) for r in self.scenario.alert_rules.get(kind, []) if str(r["id"]).lower().startswith(group)]
        return arm_json({"value": self._in_any_order(request, found)})

    def _get_action_group(self, request: web.Request, m: re.Match[str]) -> web.Response:
        wanted = f"/subscriptions/{m['sub']}/resourcegroups/{m['rg']}/providers/microsoft.insights/actiongroups/" \
                 f"{m['name']}".lower()
        found = next((g for g in self.scenario.action_groups if str(g["id"]).lower() == wanted), None)
        if found is None:
            return _missing("microsoft.insights/actionGroups", m["name"], m["rg"])
        return arm_json(found)

    # --- metrics -------------------------------------------------------------------------------------

    def _metrics(self, request: web.Request, m: re.Match[str]) -> web.Response:
        resource = m["resource"]
        job_match = re.fullmatch(_JOB, resource, re.IGNORECASE)
        ns_match = re.fullmatch(_NS, resource, re.IGNORECASE)
        job = self._job(job_match) if job_match else None
        known_ns = ns_match is not None and _keys(ns_match, "sub", "rg", "ns") in self.namespaces
        if job is None and not known_ns:
            return _not_found(resource)
        # Only jobs have metric series in a scenario; a namespace answers every metric empty.
        series = {name: s for (key, name), s in self.metrics.items() if job and key == job.key}
        try:
            body = monitor.metrics_body(
                resource,
                series,
                request.query,
                now=self.scenario.now,
                namespace="Microsoft.App/jobs" if job else "Microsoft.ServiceBus/namespaces",
                region=job.location if job else "",
            )
        except ValueError as exc:
            return arm_error(400, "BadRequest", str(exc))
        return arm_json(body)

    # --- Activity Log --------------------------------------------------------------------------------

    def _activity(self, request: web.Request, m: re.Match[str]) -> web.Response:
        try:
            events = monitor.activity_items(self.events, m["sub"], request.query)
        except ValueError as exc:
            return arm_error(400, "BadRequest", str(exc))
        return self._page(request, events)

    # --- Service Bus -------------------------------------------------------------------------------

    def _list_namespaces(self, request: web.Request, m: re.Match[str]) -> web.Response:
        scope = _keys(m, "sub", "rg")
        sub = self.scenario.subscription
        return self._page(
            request,
            [servicebus.namespace_body(ns, sub) for ns in self.namespaces.values() if ns.key[: len(scope)] == scope],
        )

    # --- lists ---------------------------------------------------------------------------------------

    def _in_any_order(self, request: web.Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`items` as given, or shuffled by (seed, the list's path and filter) so every page agrees."""
        if self.shuffle is None:
            return items
        query = sorted((k, v) for k, v in request.query.items() if k != "$skiptoken")
        return self.shuffle.items(f"arm {request.path.lower()} {query}", items)

    def _page(self, request: web.Request, items: list[dict[str, Any]]) -> web.Response:
        return _page(request, self._in_any_order(request, items))

    def _namespace(self, m: re.Match[str]) -> servicebus.Namespace | None:
        return self.namespaces.get(_keys(m, "sub", "rg", "ns"))

    def _get_namespace(self, request: web.Request, m: re.Match[str]) -> web.Response:
        ns = self._namespace(m)
        if ns is None:
            return _missing("namespaces", m["ns"], m["rg"])
        return arm_json(servicebus.namespace_body(ns, self.scenario.subscription))

    def _entity(self, m: re.Match[str], entity: str, kind: str, path: str) -> web.Response:
        ns = self._namespace(m)
        spec = ns.entities.get(entity.lower()) if ns else None
        if ns is None or spec is None:
            return _missing(kind, entity, m["rg"])
        return arm_json(servicebus.entity_body(ns, spec, kind, path, self.scenario.now))

    def _get_queue(self, request: web.Request, m: re.Match[str]) -> web.Response:
        return self._entity(m, m["queue"], "Queues", f"queues/{m['queue']}")

    def _get_subscription(self, request: web.Request, m: re.Match[str]) -> web.Response:
        entity = f"{m['topic']}/{m['entity']}"
        return self._entity(m, entity, "Topics/Subscriptions", f"topics/{m['topic']}/subscriptions/{m['entity']}")

    def _get_topic(self, request: web.Request, m: re.Match[str]) -> web.Response:
        ns = self._namespace(m)
        if ns is None or not servicebus.has_topic(ns, m["topic"]):
            return _missing("Topics", m["topic"], m["rg"])
        return arm_json(servicebus.topic_body(ns, m["topic"]))


# --- helpers ------------------------------------------------------------------------------------------

_ENV_ID = re.compile(f"^{_ENV}$", re.IGNORECASE)


def _overlay(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `over` laid on top, mappings merged key by key (lists and values replaced)."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _overlay(out[key], value)
        else:
            out[key] = value
    return out
_JOB_ID = re.compile(f"^{_JOB}$", re.IGNORECASE)


def _split_id(resource_id: str) -> tuple[str, str, str]:
    match = _JOB_ID.match(resource_id)
    if match is None:  # the loader checked ids already
        raise ValueError(f"not a job id: {resource_id}")
    return match["sub"], match["rg"], match["job"]


def _split_env(resource_id: str) -> tuple[str, str, str]:
    match = _ENV_ID.match(resource_id)
    assert match is not None
    return match["sub"], match["rg"], match["env"]


def _keys(m: re.Match[str], *names: str) -> Key:
    return tuple(m[n].lower() for n in names if m.groupdict().get(n) is not None)


def _page(request: web.Request, items: list[dict[str, Any]]) -> web.Response:
    """One page of a list, with an absolute `nextLink` (`$skiptoken`) when more remain."""
    token = request.query.get("$skiptoken", "0")
    skip = int(token) if token.isdigit() else 0
    body: dict[str, Any] = {"value": items[skip : skip + PAGE_SIZE]}
    if skip + PAGE_SIZE < len(items):
        query = {**request.query, "$skiptoken": str(skip + PAGE_SIZE)}
        body["nextLink"] = str(request.url.with_query(query))
    return arm_json(body)


def _missing(kind: str, name: str, rg: str) -> web.Response:
    return arm_error(
        404, "ResourceNotFound", f"The Resource '{kind}/{name}' under resource group '{rg}' was not found."
    )


def _not_found(path: str) -> web.Response:
    return arm_error(404, "ResourceNotFound", f"No resource or route for '{path}' in this scenario.")


def _slug(location: str) -> str:
    return location.replace(" ", "").lower() or "westeurope"
