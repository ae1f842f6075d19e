"""Azure Monitor's common alert schema, parsed once at the edge into frozen data (one function per shape).

    {"schemaId": "azureMonitorCommonAlertSchema",
     "data": {"essentials": {...}, "alertContext": {...}, "customProperties": {...}}}

`essentials` is the same for every alert; `alertContext` depends on the monitoring service: metric
alerts and Log Alerts V2 carry `condition.allOf[]` (metric values, or a search query with dimensions);
activity log alerts carry the operation, caller and status. Only what jobbot reads is kept; the rest of
a real payload is ignored, never refused.

    InvalidAlert(JobbotError)     valid JSON, but not an alert jobbot can read (the webhook answers 422)
    └── UnknownSchema             `schemaId` is not the common alert schema
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bot.errors import JobbotError

SCHEMA_ID = "azureMonitorCommonAlertSchema"
# Texts from the payload are shown to people; nobody needs more than this of one of them.
_TEXT_MAX = 2000


class InvalidAlert(JobbotError):
    """The payload is JSON but not a common-schema alert jobbot can use; the message says what is wrong."""


class UnknownSchema(InvalidAlert):
    pass


class Condition(StrEnum):
    FIRED = "Fired"
    RESOLVED = "Resolved"


@dataclass(frozen=True, slots=True)
class Dimension:
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class Criterion:
    """One `allOf[]` entry: a metric threshold, or a log search with its result."""

    metric: str | None = None
    search_query: str | None = None
    operator: str | None = None
    threshold: str | None = None
    value: float | None = None
    aggregation: str | None = None
    dimensions: tuple[Dimension, ...] = ()
    link: str | None = None  # the portal's search results, for log alerts


@dataclass(frozen=True, slots=True)
class ActivityEvent:
    """What an activity log alert says happened."""

    operation: str | None = None
    caller: str | None = None
    status: str | None = None
    level: str | None = None
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: str
    rule: str
    condition: Condition
    severity: str = "Sev?"
    signal_type: str = ""  # Metric | Log | Activity Log
    monitoring_service: str = ""
    rule_id: str | None = None
    target_ids: tuple[str, ...] = ()
    configuration_items: tuple[str, ...] = ()
    fired_at: datetime | None = None
    resolved_at: datetime | None = None
    description: str = ""
    criteria: tuple[Criterion, ...] = ()
    activity: ActivityEvent | None = None
    custom_properties: Mapping[str, str] = field(default_factory=dict)

    @property
    def dimensions(self) -> tuple[Dimension, ...]:
        return tuple(d for c in self.criteria for d in c.dimensions)

    @property
    def short_id(self) -> str:
        """The alert's own id without the ARM path in front (what a person can compare at a glance)."""
        return self.alert_id.rstrip("/").rsplit("/", 1)[-1]


def parse_alert(payload: Any) -> Alert:
    """The alert in a decoded webhook body. Raises `UnknownSchema` or `InvalidAlert` (with the reason)."""
    if not isinstance(payload, Mapping):
        raise UnknownSchema("the body is not a JSON object with a schemaId")
    schema = payload.get("schemaId")
    if schema != SCHEMA_ID:
        shown = repr(schema)[:80] if schema is not None else "missing"
        raise UnknownSchema(f"schemaId {shown}: only {SCHEMA_ID} is accepted (turn on the common alert schema "
                            "in the action group)")
    data = _mapping(payload.get("data"), "data")
    essentials = _mapping(data.get("essentials"), "data.essentials")
    context = data.get("alertContext")
    context = context if isinstance(context, Mapping) else {}
    custom = data.get("customProperties")
    return _essentials(
        essentials,
        criteria=_criteria(context),
        activity=_activity(context) if _text(essentials.get("signalType")) == "Activity Log" else None,
        custom={str(k)[:200]: _text(v) for k, v in custom.items()} if isinstance(custom, Mapping) else {},
    )


def _essentials(raw: Mapping[str, Any], *, criteria: tuple[Criterion, ...], activity: ActivityEvent | None,
                custom: Mapping[str, str]) -> Alert:
    alert_id = _text(raw.get("alertId"))
    if not alert_id:
        raise InvalidAlert("data.essentials.alertId is missing: it is what tells one alert from another")
    condition_text = _text(raw.get("monitorCondition"))
    try:
        condition = Condition(condition_text)
    except ValueError:
        raise InvalidAlert(f"data.essentials.monitorCondition {condition_text[:40]!r}: expected Fired or "
                           "Resolved") from None
    return Alert(
        alert_id=alert_id,
        rule=_text(raw.get("alertRule")) or "unnamed rule",
        condition=condition,
        severity=_text(raw.get("severity")) or "Sev?",
        signal_type=_text(raw.get("signalType")),
        monitoring_service=_text(raw.get("monitoringService")),
        rule_id=_text(raw.get("alertRuleId")) or None,
        target_ids=_texts(raw.get("alertTargetIDs"), "data.essentials.alertTargetIDs"),
        configuration_items=_texts(raw.get("configurationItems"), "data.essentials.configurationItems"),
        fired_at=_time(raw.get("firedDateTime"), "data.essentials.firedDateTime"),
        resolved_at=_time(raw.get("resolvedDateTime"), "data.essentials.resolvedDateTime"),
        description=_text(raw.get("description")),
        criteria=criteria,
        activity=activity,
        custom_properties=custom,
    )


def _criteria(context: Mapping[str, Any]) -> tuple[Criterion, ...]:
    """Metric alerts and Log Alerts V2: `condition.allOf[]`. Other contexts have none."""
    condition = context.get("condition")
    items = condition.get("allOf") if isinstance(condition, Mapping) else None
    if not isinstance(items, list):
        return ()
    return tuple(_criterion(item) for item in items if isinstance(item, Mapping))


def _criterion(raw: Mapping[str, Any]) -> Criterion:
    dimensions = raw.get("dimensions")
    return Criterion(
        metric=_text(raw.get("metricName")) or None,
        search_query=_text(raw.get("searchQuery")) or None,
        operator=_text(raw.get("operator")) or None,
        threshold=_text(raw.get("threshold")) or None,
        value=_number(raw.get("metricValue")),
        aggregation=_text(raw.get("timeAggregation")) or None,
        dimensions=tuple(
            Dimension(_text(d.get("name")), _text(d.get("value")))
            for d in (dimensions if isinstance(dimensions, list) else ())
            if isinstance(d, Mapping) and _text(d.get("name"))
        ),
        link=_link(raw.get("linkToFilteredSearchResultsUI")) or _link(raw.get("linkToSearchResultsUI")),
    )


def _activity(context: Mapping[str, Any]) -> ActivityEvent:
    """Activity log alerts: the operation that matched, who did it, how it ended."""
    return ActivityEvent(
        operation=_text(context.get("operationName")) or None,
        caller=_text(context.get("caller")) or None,
        status=_text(context.get("status")) or None,
        level=_text(context.get("level")) or None,
        at=_time(context.get("eventTimestamp"), "data.alertContext.eventTimestamp", strict=False),
    )


# --- values ------------------------------------------------------------------------------------------


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidAlert(f"{where} is missing or not an object")
    return value


def _text(value: Any) -> str:
    """A scalar as text (numbers as Azure writes them), anything else empty; cut to a readable length."""
    if value is None or isinstance(value, Mapping | list):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()[:_TEXT_MAX]


def _texts(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidAlert(f"{where} must be a list")
    return tuple(t for t in (_text(v) for v in value) if t)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
        return number if number == number and abs(number) != float("inf") else None  # NaN, infinity: unknown
    return None


def _link(value: Any) -> str | None:
    text = _text(value)
    return text if text.startswith("https://") else None


def _time(value: Any, where: str, *, strict: bool = True) -> datetime | None:
    """An ISO 8601 time (Azure sends 7 fractional digits); naive times are UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        except (ValueError, OverflowError):  # not a time; or one that leaves the calendar in UTC (year 1, +01:00)
            pass
    if strict:
        raise InvalidAlert(f"{where} is not an ISO 8601 time: {str(value)[:40]!r}")
    return None
