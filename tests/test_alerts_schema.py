"""The common alert schema parser: the official samples, their variants, clear refusals, and no surprises."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.alerts.intake import Webhook
from bot.alerts.schema import SCHEMA_ID, Alert, Condition, InvalidAlert, UnknownSchema, parse_alert
from tests.fixtures.alerts.payloads import (
    UNKNOWN_SCHEMA,
    activity_alert,
    alert_id,
    job_id,
    log_alert,
    metric_alert,
    sample,
)


def test_the_official_metric_sample_parses_with_every_field_jobbot_shows() -> None:
    alert = parse_alert(sample())
    assert alert.alert_id.endswith("/alerts/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e")
    assert alert.short_id == "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e"
    assert (alert.rule, alert.severity, alert.signal_type, alert.condition) == (
        "WCUS-R2-Gen2", "Sev3", "Metric", Condition.RESOLVED)
    assert alert.monitoring_service == "Platform"
    assert alert.fired_at == datetime(2019, 3, 22, 13, 58, 24, 371321, tzinfo=UTC)  # 7 digits in, 6 kept
    assert alert.resolved_at is not None and alert.resolved_at > alert.fired_at
    assert alert.target_ids[0].endswith("/virtualmachines/wcus-r2-gen2")
    [criterion] = alert.criteria
    assert (criterion.metric, criterion.operator, criterion.threshold, criterion.value) == (
        "Percentage CPU", "GreaterThan", "25", 7.727)
    assert alert.custom_properties == {"Key1": "Value1", "Key2": "Value2"}


def test_the_official_log_alerts_v2_context_gives_query_dimensions_and_link() -> None:
    alert = parse_alert(log_alert(alert_id("log"), "backoff-limit", job="orders-processor"))
    assert (alert.signal_type, alert.monitoring_service) == ("Log", "Log Alerts V2")
    [criterion] = alert.criteria
    assert criterion.search_query and "ContainerAppSystemLogs_CL" in criterion.search_query
    assert criterion.link is not None and criterion.link.startswith("https://portal.azure.com")
    assert [(d.name, d.value) for d in alert.dimensions] == [("JobName_s", "orders-processor")]
    assert criterion.value == 0.0


def test_an_activity_log_alert_says_what_happened_and_who_did_it() -> None:
    alert = parse_alert(activity_alert(alert_id("act"), "job-changed", job_id("orders-processor")))
    assert alert.activity is not None
    assert (alert.activity.operation, alert.activity.caller, alert.activity.status) == (
        "Microsoft.App/jobs/write", "deployer@contoso.com", "Succeeded")
    assert alert.criteria == ()


def test_a_fired_metric_alert_on_a_job_has_no_resolution_time() -> None:
    alert = parse_alert(metric_alert(alert_id("m"), "failed", job_id("orders-processor")))
    assert alert.condition is Condition.FIRED and alert.resolved_at is None


@pytest.mark.parametrize(("body", "message"), [
    ([], "not a JSON object"),
    ({"data": {}}, "schemaId missing"),
    (json.loads(UNKNOWN_SCHEMA.read_text()), "'Microsoft.Insights/LogAlert'"),
    ({"schemaId": "AzureMonitorMetricAlert", "data": {}}, "only azureMonitorCommonAlertSchema"),
])
def test_a_foreign_schema_is_refused_by_name(body: Any, message: str) -> None:
    with pytest.raises(UnknownSchema, match=message):
        parse_alert(body)


def _with(essentials: dict[str, Any]) -> dict[str, Any]:
    body = sample()
    body["data"]["essentials"].update(essentials)
    return body


@pytest.mark.parametrize(("body", "message"), [
    ({"schemaId": "azureMonitorCommonAlertSchema"}, "data is missing"),
    ({"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": "x"}}, "data.essentials is missing"),
    (_with({"alertId": ""}), "alertId is missing"),
    (_with({"monitorCondition": "Flapping"}), "monitorCondition 'Flapping': expected Fired or Resolved"),
    (_with({"firedDateTime": "yesterday"}), "firedDateTime is not an ISO 8601 time"),
    (_with({"firedDateTime": "0001-01-01T00:00:00+01:00"}), "firedDateTime is not an ISO 8601 time"),
    (_with({"alertTargetIDs": "not-a-list"}), "alertTargetIDs must be a list"),
])
def test_a_common_schema_body_jobbot_cannot_use_says_what_is_wrong(body: Any, message: str) -> None:
    with pytest.raises(InvalidAlert, match=message):
        parse_alert(body)


def test_fields_jobbot_does_not_know_are_ignored_not_refused() -> None:
    body = sample()
    body["data"]["essentials"]["somethingNew"] = {"nested": [1, 2]}
    body["data"]["alertContext"]["condition"]["allOf"][0]["dimensions"].append({"value": "no name"})
    body["data"]["newSection"] = True
    alert = parse_alert(body)
    assert [d.name for d in alert.dimensions] == ["ResourceId"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


_ESSENTIAL_KEYS = st.sampled_from(["alertId", "monitorCondition", "alertRule", "firedDateTime", "severity", "x"])
_DELIVERIES = st.one_of(
    json_values,
    st.fixed_dictionaries({"schemaId": st.just(SCHEMA_ID), "data": json_values}),
    st.fixed_dictionaries({"schemaId": st.just(SCHEMA_ID), "data": st.fixed_dictionaries({
        "essentials": st.dictionaries(_ESSENTIAL_KEYS, json_values | st.sampled_from(["Fired", "Resolved"]))})}),
)


@settings(max_examples=300, deadline=None)
@given(_DELIVERIES)
@example(sample())
@example({"schemaId": SCHEMA_ID, "data": {"essentials": {"alertId": "a1", "monitorCondition": "Fired"}}})
@example({"schemaId": SCHEMA_ID, "data": {"essentials": {"alertId": "a1", "monitorCondition": "Firing"}}})
def test_any_json_delivered_is_stored_as_an_alert_or_refused_with_a_clear_422_and_nothing_stored(body: Any) -> None:
    """What Azure (or anyone holding the token) may send: the webhook stores exactly the alerts jobbot can
    use and answers everything else 422 with the kind of refusal, stores nothing, and audits the reason."""
    stored: list[dict[str, Any]] = []
    audited: list[dict[str, Any]] = []

    async def accept(delivery: dict[str, Any]) -> str:
        stored.append(delivery)
        return "delivery-1"

    async def audit(**fields: Any) -> None:
        audited.append(fields)

    webhook = Webhook(token="hook-token", accept=accept, audit=audit)

    async def endpoint(request: Request) -> Response:
        return await webhook(request)

    async def deliver() -> httpx.Response:
        transport = httpx.ASGITransport(app=Starlette(routes=[Route("/hook", endpoint, methods=["POST"])]))
        async with httpx.AsyncClient(transport=transport, base_url="http://jobbot.test") as client:
            return await client.post("/hook", params={"token": "hook-token"}, content=json.dumps(body),
                                     headers={"Content-Type": "application/json"})

    response = asyncio.run(deliver())
    try:
        json.dumps(body, allow_nan=False)
    except ValueError:  # Infinity is no JSON (Python writes it anyway): refused before any schema check
        assert (response.status_code, response.json()) == (400, {"error": "malformed JSON"})
        assert stored == [] and [a["outcome"] for a in audited] == ["refused"]
        return
    try:
        alert = parse_alert(body)
    except InvalidAlert as error:
        kind = "unknown schema" if isinstance(error, UnknownSchema) else "invalid alert"
        assert response.status_code == 422
        assert response.json() == {"error": kind}
        assert stored == [], "a refused delivery is not stored"
        assert [(a["outcome"], a["detail"]) for a in audited] == [("refused", f"{kind}: {error}"[:500])]
        assert str(error).strip()
    else:
        assert response.status_code == 202
        assert response.json() == {"status": "accepted", "alertId": alert.alert_id, "delivery": "delivery-1"}
        assert len(stored) == 1 and parse_alert(stored[0]).alert_id == alert.alert_id
        assert audited == [], "an accepted delivery is audited once processed, not here"
    event(f"answered {response.status_code}")


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({}, optional={
    "alertRule": json_values, "severity": json_values, "signalType": json_values, "alertTargetIDs": json_values,
    "configurationItems": json_values, "firedDateTime": json_values, "resolvedDateTime": json_values,
    "description": json_values, "alertRuleId": json_values,
}), st.sampled_from(["Fired", "Resolved"]), st.text(min_size=1, max_size=60).filter(str.strip),
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)))
def test_essentials_of_any_shape_keep_the_alert_id_and_condition_or_are_refused(
        extra: dict[str, Any], condition: str, ident: str, fired: datetime) -> None:
    body = {"schemaId": "azureMonitorCommonAlertSchema",
            "data": {"essentials": {**extra, "alertId": ident, "monitorCondition": condition}}}
    try:
        alert = parse_alert(body)
    except InvalidAlert as error:
        assert any(name in str(error) for name in extra)
        return
    assert isinstance(alert, Alert)
    assert alert.alert_id == ident.strip()[:2000] and alert.condition.value == condition
    # Azure's own time format (a Z, up to 7 fractional digits) always reads back as the same instant.
    body["data"]["essentials"]["firedDateTime"] = fired.isoformat().replace("+00:00", "Z")
    assert parse_alert(body).fired_at == fired
