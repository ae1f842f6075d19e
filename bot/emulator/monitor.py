"""Azure Monitor reads of one scenario: metric time series, the Activity Log, and the diagnostic
settings and Log Analytics workspace an environment's logs go to.

Pure functions over the scenario's data that return the response bodies (or the items to page)
the SDKs deserialize; `ArmWorld` matches the routes, pages and wraps them. A malformed
`timespan`, `interval` or `$filter` raises ValueError, which ARM answers with 400 BadRequest.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.emulator.scenario import MetricSeries, format_time, parse_time

_FILTER_CLAUSE = re.compile(r"^\s*(\w+)\s+(eq|ge|le|gt|lt)\s+'([^']*)'\s*$", re.IGNORECASE)
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$", re.IGNORECASE)

METRIC_UNITS = {"executions": "Count", "usage bytes": "Bytes", "usagenanocores": "NanoCores"}
# The aggregation Azure returns when a request names none; metrics not listed here average.
_PRIMARY_AGGREGATION = {"executions": "total"}

Event = dict[str, Any]


# --- metrics ------------------------------------------------------------------------------------------


def metrics_body(
    resource: str,
    series: Mapping[str, MetricSeries],
    query: Mapping[str, str],
    *,
    now: datetime,
    namespace: str,
    region: str,
) -> dict[str, Any]:
    """The `Response` of a metrics list for `resource`; `series` holds its metrics by lower-cased name.

    `query` carries the request's `metricnames`, `aggregation`, `timespan` and `interval`. A metric
    the resource does not have still gets an entry, with no time series, as Azure answers.
    """
    start, end = _timespan(query.get("timespan"), now)
    interval = _interval(query.get("interval"), end - start)
    wanted = [a.strip().lower() for a in query.get("aggregation", "").split(",") if a.strip()]
    value = []
    for name in [n.strip() for n in query.get("metricnames", "").split(",") if n.strip()]:
        found = series.get(name.lower())
        aggregations = wanted or [_PRIMARY_AGGREGATION.get(name.lower(), "average")]
        points = [(t, v) for t, v in found.points if start <= t < end] if found else []
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
    return {
        "cost": 0,
        "timespan": f"{format_time(start)}/{format_time(end)}",
        "interval": query.get("interval", "PT1M"),
        "value": value,
        "namespace": namespace,
        "resourceregion": region,
    }


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


# --- diagnostic settings and workspace ---------------------------------------------------------------


def workspace_id(subscription: str, resource_group: str, environment: str) -> str:
    """The workspace the emulator gives an environment whose logs go to Azure Monitor: `law-<environment>`."""
    return (
        f"/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.OperationalInsights/"
        f"workspaces/law-{environment}"
    )


def diagnostic_setting(environment_id: str, workspace: str) -> dict[str, Any]:
    """The environment's one diagnostic setting: all its logs to the `workspace` resource id."""
    return {
        "id": f"{environment_id}/providers/microsoft.insights/diagnosticSettings/jobbot-logs",
        "name": "jobbot-logs",
        "type": "Microsoft.Insights/diagnosticSettings",
        "properties": {
            "workspaceId": workspace,
            "logAnalyticsDestinationType": "Dedicated",
            "logs": [{"categoryGroup": "allLogs", "enabled": True}],
            "metrics": [],
        },
    }


def workspace_body(workspace: str, location: str, customer_id: str) -> dict[str, Any]:
    """The Log Analytics workspace at resource id `workspace`; `customer_id` is what logs queries name."""
    return {
        "id": workspace,
        "name": workspace.rsplit("/", 1)[-1],
        "type": "Microsoft.OperationalInsights/workspaces",
        "location": location,
        "properties": {
            "customerId": customer_id,
            "provisioningState": "Succeeded",
            "sku": {"name": "PerGB2018"},
            "retentionInDays": 30,
            # What Azure sets on a workspace created since March 2019: logs readable with the resource's own access.
            "features": {"enableLogAccessUsingOnlyResourcePermissions": True},
        },
    }


# --- Activity Log ---------------------------------------------------------------------------------------


def activity_events(rows: Iterable[Mapping[str, Any]], subscription: str) -> list[Event]:
    """The Activity Log of `AzureActivity` rows, newest first, as Azure lists it.

    Rows without a TimeGenerated are left out; `subscription` stands in for rows that name none.
    """
    return sorted(
        (e for row in rows if (e := _event(row, subscription))),
        key=lambda e: e["eventTimestamp"],
        reverse=True,
    )


def activity_items(events: Iterable[Event], subscription: str, query: Mapping[str, str]) -> list[Event]:
    """The events of one subscription that the request's `$filter` keeps, cut to its `$select` fields."""
    keep = _event_filter(query.get("$filter", ""))
    sub = subscription.lower()
    found = [e for e in events if e["subscriptionId"].lower() == sub and keep(e)]
    select = [s.strip() for s in query.get("$select", "").split(",") if s.strip()]
    if select:
        found = [{k: v for k, v in e.items() if k in select} for e in found]
    return found


def _event(row: Mapping[str, Any], default_subscription: str) -> Event | None:
    """An Activity Log EventData item from an `AzureActivity` row (None without a TimeGenerated)."""
    when = parse_time(row.get("TimeGenerated"))
    if when is None:
        return None
    resource_id = str(row.get("ResourceId") or row.get("_ResourceId") or "")
    parts = resource_id.split("/")
    rg = str(row.get("ResourceGroup") or _segment_after(parts, "resourceGroups"))
    provider = str(row.get("ResourceProviderValue") or _segment_after(parts, "providers"))
    sub = str(row.get("SubscriptionId") or _segment_after(parts, "subscriptions") or default_subscription)
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


def _event_filter(text: str) -> Callable[[Event], bool]:
    """A predicate for the Activity Log `$filter` (`field op 'value'` clauses joined by `and`)."""
    if not text.strip():
        raise ValueError("The $filter query parameter is required and must include eventTimestamp ge '…'.")
    tests: list[Callable[[Event], bool]] = []
    has_start = False
    fields: dict[str, Callable[[Event], Any]] = {
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


def _equals_test(get: Callable[[Event], Any], value: str) -> Callable[[Event], bool]:
    wanted = value.lower()
    return lambda event: str(get(event) or "").lower() == wanted


def _time_test(op: str, bound: datetime) -> Callable[[Event], bool]:
    compare: dict[str, Callable[[datetime], bool]] = {
        "ge": lambda t: t >= bound,
        "gt": lambda t: t > bound,
        "le": lambda t: t <= bound,
        "lt": lambda t: t < bound,
    }
    check = compare[op]
    return lambda event: check(_event_time(event))


def _event_time(event: Event) -> datetime:
    parsed = parse_time(event["eventTimestamp"])
    assert parsed is not None
    return parsed
