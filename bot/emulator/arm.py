"""ARM (management.azure.com) reads of one scenario, in the REST shapes the SDKs deserialize.

Container Apps jobs, executions and detectors; the managed environment, its diagnostic settings and
the Log Analytics workspace they name; job metrics; the Activity Log; Service Bus namespaces,
queues and topic subscriptions. Paths are matched case-insensitively and names compared
lower-cased, as ARM does; bodies are served as the scenario wrote them.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.emulator.scenario import MetricSeries, QueueSpec, Scenario, format_time, parse_time

PAGE_SIZE = 50

_SUB = r"/subscriptions/(?P<sub>[^/]+)"
_RG = _SUB + r"/resourcegroups/(?P<rg>[^/]+)"
_JOB = _RG + r"/providers/microsoft\.app/jobs/(?P<job>[^/]+)"
_ENV = _RG + r"/providers/microsoft\.app/managedenvironments/(?P<env>[^/]+)"
_NS = _RG + r"/providers/microsoft\.servicebus/namespaces/(?P<ns>[^/]+)"
_SCOPE = re.compile(_SUB + r"(?:/resourcegroups/(?P<rg>[^/]+))?", re.IGNORECASE)
_FILTER_CLAUSE = re.compile(r"^\s*(\w+)\s+(eq|ge|le|gt|lt)\s+'([^']*)'\s*$", re.IGNORECASE)
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$", re.IGNORECASE)

METRIC_UNITS = {"executions": "Count", "usage bytes": "Bytes", "usagenanocores": "NanoCores"}
_PRIMARY_AGGREGATION = {"executions": "total"}

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


@dataclass(frozen=True, slots=True)
class _Namespace:
    id: str
    name: str
    key: Key
    location: str
    entities: dict[str, QueueSpec]  # "queue" or "topic/subscription", lower-cased


class ArmWorld:
    """The ARM view of one scenario; `handle` answers a GET on a normalised path."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.subscriptions = {scenario.subscription.lower()}
        self.resource_groups: set[Key] = set()
        self.jobs: dict[Key, _Job] = {}
        self.environments: dict[Key, _Environment] = {}
        self.namespaces: dict[Key, _Namespace] = {}
        for raw in scenario.jobs:
            self._add_job(raw)
        first_job = next(iter(self.jobs.values()), None)
        for queue in scenario.queues:
            if queue.type == "azure-servicebus":
                self._add_queue(queue, first_job)
        self.events = sorted(
            (e for row in scenario.tables.get("AzureActivity", []) if (e := _event(row, scenario))),
            key=lambda e: e["eventTimestamp"],
            reverse=True,
        )
        self.metrics: dict[tuple[Key, str], MetricSeries] = {}
        for series in scenario.metrics:
            job = next(j for j in self.jobs.values() if j.key[2] == series.job.lower())
            self.metrics[(job.key, series.name.lower())] = series
        self._routes: list[tuple[re.Pattern[str], Handler]] = [
            (re.compile(f"^{pattern}$", re.IGNORECASE), handler)
            for pattern, handler in (
                (_SUB + r"/providers/microsoft\.app/jobs", self._list_jobs),
                (_RG + r"/providers/microsoft\.app/jobs", self._list_jobs),
                (_JOB, self._get_job),
                (_JOB + r"/executions", self._list_executions),
                (_JOB + r"/executions/(?P<execution>[^/]+)", self._get_execution),
                (_JOB + r"/detectors", self._list_detectors),
                (_JOB + r"/detectors/(?P<detector>[^/]+)", self._get_detector),
                (_ENV, self._get_environment),
                (_ENV + r"/providers/microsoft\.insights/diagnosticsettings", self._list_diagnostics),
                (
                    _ENV + r"/providers/microsoft\.insights/diagnosticsettings/(?P<setting>[^/]+)",
                    self._get_diagnostic,
                ),
                (_RG + r"/providers/microsoft\.operationalinsights/workspaces/(?P<ws>[^/]+)", self._workspace),
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

    def _add_queue(self, queue: QueueSpec, first_job: _Job | None) -> None:
        sub = self.scenario.subscription
        rg = queue.resource_group or (_split_id(first_job.body["id"])[1] if first_job else "rg")
        key = (sub.lower(), rg.lower(), queue.account.lower())
        namespace = self.namespaces.get(key)
        if namespace is None:
            namespace = _Namespace(
                id=f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ServiceBus/namespaces/"
                f"{queue.account}",
                name=queue.account,
                key=key,
                location=first_job.location if first_job else "westeurope",
                entities={},
            )
            self.namespaces[key] = namespace
            self.resource_groups.add(key[:2])
        namespace.entities[queue.name.lower()] = queue

    # --- dispatch -------------------------------------------------------------------------------

    def handle(self, request: web.Request, path: str) -> web.Response:
        scope = _SCOPE.match(path)
        if scope is not None:
            sub, rg = scope["sub"], scope["rg"]
            if sub.lower() not in self.subscriptions:
                return arm_error(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
            if rg is not None and (sub.lower(), rg.lower()) not in self.resource_groups:
                return arm_error(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        for pattern, handler in self._routes:
            match = pattern.match(path)
            if match is not None:
                return handler(request, match)
        return _not_found(path)

    # --- Container Apps jobs ----------------------------------------------------------------------

    def _list_jobs(self, request: web.Request, m: re.Match[str]) -> web.Response:
        scope = _keys(m, "sub", "rg")
        return _page(request, [j.body for j in self.jobs.values() if j.key[: len(scope)] == scope])

    def _job(self, m: re.Match[str]) -> _Job | None:
        return self.jobs.get(_keys(m, "sub", "rg", "job"))

    def _get_job(self, request: web.Request, m: re.Match[str]) -> web.Response:
        job = self._job(m)
        return arm_json(job.body) if job else _missing("Microsoft.App/jobs", m["job"], m["rg"])

    def _list_executions(self, request: web.Request, m: re.Match[str]) -> web.Response:
        job = self._job(m)
        if job is None:
            return _missing("Microsoft.App/jobs", m["job"], m["rg"])
        return _page(request, job.executions)

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
        return _page(request, self._detectors(job)) if job else _missing("Microsoft.App/jobs", m["job"], m["rg"])

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
        return arm_json(
            {
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
        )

    def _diagnostic_settings(self, env: _Environment) -> list[dict[str, Any]]:
        if self.scenario.log_destination != "azure-monitor":
            return []
        sub, rg, _ = _split_env(env.id)
        workspace = (
            f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/"
            f"workspaces/law-{env.name}"
        )
        return [
            {
                "id": f"{env.id}/providers/microsoft.insights/diagnosticSettings/jobbot-logs",
                "name": "jobbot-logs",
                "type": "Microsoft.Insights/diagnosticSettings",
                "properties": {
                    "workspaceId": workspace,
                    "logAnalyticsDestinationType": "Dedicated",
                    "logs": [{"categoryGroup": "allLogs", "enabled": True}],
                    "metrics": [],
                },
            }
        ]

    def _list_diagnostics(self, request: web.Request, m: re.Match[str]) -> web.Response:
        env = self._environment(m)
        if env is None:
            return _missing("Microsoft.App/managedEnvironments", m["env"], m["rg"])
        return arm_json({"value": self._diagnostic_settings(env)})

    def _get_diagnostic(self, request: web.Request, m: re.Match[str]) -> web.Response:
        env = self._environment(m)
        wanted = m["setting"].lower()
        found = next((s for s in (self._diagnostic_settings(env) if env else []) if s["name"] == wanted), None)
        return arm_json(found) if found else _missing("diagnosticSettings", m["setting"], m["rg"])

    def _workspace(self, request: web.Request, m: re.Match[str]) -> web.Response:
        for env in self.environments.values() if self.scenario.log_destination == "azure-monitor" else ():
            if env.key[:2] == _keys(m, "sub", "rg") and f"law-{env.name}".lower() == m["ws"].lower():
                sub, rg, _ = _split_env(env.id)
                return arm_json(
                    {
                        "id": f"/subscriptions/{sub}/resourceGroups/{rg}/providers/"
                        f"Microsoft.OperationalInsights/workspaces/law-{env.name}",
                        "name": f"law-{env.name}",
                        "type": "Microsoft.OperationalInsights/workspaces",
                        "location": env.location,
                        "properties": {
                            "customerId": self.scenario.workspace_id,
                            "provisioningState": "Succeeded",
                            "sku": {"name": "PerGB2018"},
                            "retentionInDays": 30,
                        },
                    }
                )
        return _missing("Microsoft.OperationalInsights/workspaces", m["ws"], m["rg"])

    # --- metrics -------------------------------------------------------------------------------------

    def _metrics(self, request: web.Request, m: re.Match[str]) -> web.Response:
        resource = m["resource"]
        job_match = re.fullmatch(_JOB, resource, re.IGNORECASE)
        ns_match = re.fullmatch(_NS, resource, re.IGNORECASE)
        job = self._job(job_match) if job_match else None
        known_ns = ns_match is not None and _keys(ns_match, "sub", "rg", "ns") in self.namespaces
        if job is None and not known_ns:
            return _not_found(resource)
        try:
            start, end = _timespan(request.query.get("timespan"), self.scenario.now)
            interval = _interval(request.query.get("interval"), end - start)
        except ValueError as exc:
            return arm_error(400, "BadRequest", str(exc))
        wanted = [a.strip().lower() for a in request.query.get("aggregation", "").split(",") if a.strip()]
        value = []
        for name in [n.strip() for n in request.query.get("metricnames", "").split(",") if n.strip()]:
            series = self.metrics.get((job.key, name.lower())) if job else None
            aggregations = wanted or [_PRIMARY_AGGREGATION.get(name.lower(), "average")]
            points = [(t, v) for t, v in series.points if start <= t < end] if series else []
            value.append(
                {
                    "id": f"{resource}/providers/Microsoft.Insights/metrics/{name}",
                    "type": "Microsoft.Insights/metrics",
                    "name": {"value": name, "localizedValue": name},
                    "displayDescription": "",
                    "unit": METRIC_UNITS.get(name.lower(), "Unspecified"),
                    "timeseries": [{"metadatavalues": [], "data": _buckets(points, interval, aggregations)}]
                    if points
                    else [],
                    "errorCode": "Success",
                }
            )
        return arm_json(
            {
                "cost": 0,
                "timespan": f"{format_time(start)}/{format_time(end)}",
                "interval": request.query.get("interval", "PT1M"),
                "value": value,
                "namespace": "Microsoft.App/jobs" if job else "Microsoft.ServiceBus/namespaces",
                "resourceregion": job.location if job else "",
            }
        )

    # --- Activity Log --------------------------------------------------------------------------------

    def _activity(self, request: web.Request, m: re.Match[str]) -> web.Response:
        try:
            keep = _event_filter(request.query.get("$filter", ""))
        except ValueError as exc:
            return arm_error(400, "BadRequest", str(exc))
        sub = m["sub"].lower()
        events = [e for e in self.events if e["subscriptionId"].lower() == sub and keep(e)]
        select = [s.strip() for s in request.query.get("$select", "").split(",") if s.strip()]
        if select:
            events = [{k: v for k, v in e.items() if k in select} for e in events]
        return _page(request, events)

    # --- Service Bus -------------------------------------------------------------------------------

    def _namespace_body(self, ns: _Namespace) -> dict[str, Any]:
        return {
            "id": ns.id,
            "name": ns.name,
            "type": "Microsoft.ServiceBus/Namespaces",
            "location": ns.location,
            "sku": {"name": "Standard", "tier": "Standard"},
            "properties": {
                "provisioningState": "Succeeded",
                "status": "Active",
                "serviceBusEndpoint": f"https://{ns.name}.servicebus.windows.net:443/",
                "metricId": f"{self.scenario.subscription}:{ns.name}",
            },
        }

    def _list_namespaces(self, request: web.Request, m: re.Match[str]) -> web.Response:
        scope = _keys(m, "sub", "rg")
        found = [self._namespace_body(ns) for ns in self.namespaces.values() if ns.key[: len(scope)] == scope]
        return _page(request, found)

    def _namespace(self, m: re.Match[str]) -> _Namespace | None:
        return self.namespaces.get(_keys(m, "sub", "rg", "ns"))

    def _get_namespace(self, request: web.Request, m: re.Match[str]) -> web.Response:
        ns = self._namespace(m)
        return arm_json(self._namespace_body(ns)) if ns else _missing("namespaces", m["ns"], m["rg"])

    def _entity(self, m: re.Match[str], entity: str, kind: str, path: str) -> web.Response:
        ns = self._namespace(m)
        spec = ns.entities.get(entity.lower()) if ns else None
        if ns is None or spec is None:
            return _missing(kind, entity, m["rg"])
        stamp = format_time(self.scenario.now)
        return arm_json(
            {
                "id": f"{ns.id}/{path}",
                "name": path.rsplit("/", 1)[-1],
                "type": f"Microsoft.ServiceBus/Namespaces/{kind}",
                "location": ns.location,
                "properties": {
                    "messageCount": spec.depth + spec.dead_letter,
                    "sizeInBytes": 0,
                    "status": "Active",
                    "maxDeliveryCount": 10,
                    "lockDuration": "PT1M",
                    "createdAt": stamp,
                    "updatedAt": stamp,
                    "accessedAt": stamp,
                    "countDetails": {
                        "activeMessageCount": spec.depth,
                        "deadLetterMessageCount": spec.dead_letter,
                        "scheduledMessageCount": 0,
                        "transferMessageCount": 0,
                        "transferDeadLetterMessageCount": 0,
                    },
                },
            }
        )

    def _get_queue(self, request: web.Request, m: re.Match[str]) -> web.Response:
        return self._entity(m, m["queue"], "Queues", f"queues/{m['queue']}")

    def _get_subscription(self, request: web.Request, m: re.Match[str]) -> web.Response:
        entity = f"{m['topic']}/{m['entity']}"
        return self._entity(m, entity, "Topics/Subscriptions", f"topics/{m['topic']}/subscriptions/{m['entity']}")

    def _get_topic(self, request: web.Request, m: re.Match[str]) -> web.Response:
        ns = self._namespace(m)
        topic = m["topic"].lower()
        if ns is None or not any(e.startswith(f"{topic}/") for e in ns.entities):
            return _missing("Topics", m["topic"], m["rg"])
        return arm_json(
            {
                "id": f"{ns.id}/topics/{m['topic']}",
                "name": m["topic"],
                "type": "Microsoft.ServiceBus/Namespaces/Topics",
                "location": ns.location,
                "properties": {"status": "Active", "subscriptionCount": 1},
            }
        )


# --- helpers ------------------------------------------------------------------------------------------

_ENV_ID = re.compile(f"^{_ENV}$", re.IGNORECASE)
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


def _duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if match is None or not any(match.groups()):
        raise ValueError(f"'{text}' is not an ISO 8601 duration")
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def _timespan(text: str | None, now: datetime) -> tuple[datetime, datetime]:
    """`start/end` or `start/duration` (ISO 8601); absent = the hour before the scenario's now."""
    if not text:
        return now - timedelta(hours=1), now
    first, _, second = text.partition("/")
    start = parse_time(first)
    if start is None:
        raise ValueError(f"Invalid timespan '{text}': expected start/end in ISO 8601 with a zone")
    end = parse_time(second) or start + _duration(second)
    return start, end


def _interval(text: str | None, span: timedelta) -> timedelta:
    if not text:
        return timedelta(minutes=1)
    if text.upper() == "FULL":
        return max(span, timedelta(seconds=1))
    return _duration(text)


def _buckets(
    points: list[tuple[datetime, float]], interval: timedelta, aggregations: list[str]
) -> list[dict[str, Any]]:
    """Points grouped into `interval` buckets (aligned to the epoch), one entry per non-empty bucket."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    grouped: dict[datetime, list[float]] = {}
    for when, value in points:
        start = epoch + interval * ((when - epoch) // interval)
        grouped.setdefault(start, []).append(value)
    data = []
    for start in sorted(grouped):
        values = grouped[start]
        all_values = {
            "average": sum(values) / len(values),
            "minimum": min(values),
            "maximum": max(values),
            "total": sum(values),
            "count": len(values),
        }
        entry: dict[str, Any] = {"timeStamp": format_time(start)}
        entry.update({a: all_values[a] for a in aggregations if a in all_values})
        data.append(entry)
    return data


def _event(row: Mapping[str, Any], scenario: Scenario) -> dict[str, Any] | None:
    """An Activity Log EventData item from an `AzureActivity` row (None without a TimeGenerated)."""
    when = parse_time(row.get("TimeGenerated"))
    if when is None:
        return None
    resource_id = str(row.get("ResourceId") or row.get("_ResourceId") or "")
    parts = resource_id.split("/")
    rg = str(row.get("ResourceGroup") or _segment_after(parts, "resourceGroups"))
    provider = str(row.get("ResourceProviderValue") or _segment_after(parts, "providers"))
    sub = str(row.get("SubscriptionId") or _segment_after(parts, "subscriptions") or scenario.subscription)
    operation = str(row.get("OperationNameValue") or "")
    event_id = str(row.get("EventDataId") or uuid.uuid5(uuid.NAMESPACE_URL, f"{resource_id}|{operation}|{when}"))
    status = str(row.get("ActivityStatusValue") or "")
    category = str(row.get("CategoryValue") or "Administrative")
    return {
        "authorization": {"action": operation, "scope": resource_id},
        "caller": row.get("Caller"),
        "channels": "Operation",
        "claims": {},
        "correlationId": row.get("CorrelationId"),
        "description": "",
        "eventDataId": event_id,
        "eventName": {"value": "EndRequest", "localizedValue": "End request"},
        "category": {"value": category, "localizedValue": category},
        "id": f"{resource_id}/events/{event_id}/ticks/{int(when.timestamp() * 10_000_000)}",
        "level": str(row.get("Level") or "Informational"),
        "resourceGroupName": rg,
        "resourceProviderName": {"value": provider, "localizedValue": provider},
        "resourceId": resource_id,
        "resourceType": {"value": _resource_type(parts), "localizedValue": _resource_type(parts)},
        "operationId": str(row.get("CorrelationId") or event_id),
        "operationName": {"value": operation, "localizedValue": str(row.get("OperationName") or operation)},
        "properties": _string_map(row.get("Properties_d") or row.get("Properties")),
        "status": {"value": status, "localizedValue": status},
        "subStatus": {"value": str(row.get("ActivitySubstatusValue") or ""), "localizedValue": ""},
        "eventTimestamp": format_time(when),
        "submissionTimestamp": format_time(when),
        "subscriptionId": sub,
        "tenantId": str(row.get("TenantId") or ""),
    }


def _segment_after(parts: list[str], name: str) -> str:
    lowered = [p.lower() for p in parts]
    at = lowered.index(name.lower()) if name.lower() in lowered else -1
    return parts[at + 1] if 0 <= at < len(parts) - 1 else ""


def _resource_type(parts: list[str]) -> str:
    lowered = [p.lower() for p in parts]
    if "providers" not in lowered[:-2]:
        return ""
    at = len(lowered) - 1 - lowered[::-1].index("providers")
    rest = parts[at + 1 :]
    return "/".join([rest[0], *rest[1::2]]) if rest else ""


def _string_map(value: Any) -> dict[str, str]:
    """EventData.properties is a string-to-string map; a JSON text or a mapping becomes one."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {"value": value}
    if not isinstance(value, Mapping):
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def _event_filter(text: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate for the Activity Log `$filter` (`field op 'value'` clauses joined by `and`)."""
    if not text.strip():
        raise ValueError("The $filter query parameter is required and must include eventTimestamp ge '…'.")
    tests: list[Callable[[dict[str, Any]], bool]] = []
    has_start = False
    fields: dict[str, Callable[[dict[str, Any]], Any]] = {
        "resourceuri": lambda e: e["resourceId"],
        "resourceid": lambda e: e["resourceId"],
        "resourcegroupname": lambda e: e["resourceGroupName"],
        "resourceprovider": lambda e: e["resourceProviderName"]["value"],
        "correlationid": lambda e: e["correlationId"],
        "caller": lambda e: e["caller"],
        "status": lambda e: e["status"]["value"],
    }
    for clause in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        match = _FILTER_CLAUSE.match(clause)
        if match is None:
            raise ValueError(f"Unsupported $filter clause: {clause!r}")
        name, op, value = match[1].lower(), match[2].lower(), match[3]
        if name == "eventtimestamp":
            bound = parse_time(value)
            if bound is None:
                raise ValueError(f"Invalid eventTimestamp in $filter: {value!r}")
            has_start = has_start or op in ("ge", "gt")
            tests.append(_time_test(op, bound))
        elif name in ("levels", "eventchannels"):
            continue
        elif name in fields and op == "eq":
            get = fields[name]
            tests.append(_equals_test(get, value))
        else:
            raise ValueError(f"Unsupported $filter clause: {clause!r}")
    if not has_start:
        raise ValueError("The $filter query parameter must include eventTimestamp ge '…'.")
    return lambda event: all(test(event) for test in tests)


def _equals_test(get: Callable[[dict[str, Any]], Any], value: str) -> Callable[[dict[str, Any]], bool]:
    wanted = value.lower()
    return lambda event: str(get(event) or "").lower() == wanted


def _time_test(op: str, bound: datetime) -> Callable[[dict[str, Any]], bool]:
    compare: dict[str, Callable[[datetime], bool]] = {
        "ge": lambda t: t >= bound,
        "gt": lambda t: t > bound,
        "le": lambda t: t <= bound,
        "lt": lambda t: t < bound,
    }
    check = compare[op]
    return lambda event: check(_event_time(event))


def _event_time(event: dict[str, Any]) -> datetime:
    parsed = parse_time(event["eventTimestamp"])
    assert parsed is not None
    return parsed
