"""change_evidence: the records of one triage, one per change however many sources saw it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.evidence.change_evidence import change_records
from bot.evidence.change_records import ChangeSource
from tests.fakes import make_job

JOB = make_job("invoice-render")
T0 = datetime(2026, 12, 14, 10, 40, tzinfo=UTC)
PIPELINE = "8c41d0e2-57b9-4a6f-9e13-2f0a6b7c8d9e"
MAX_EXECUTIONS = "properties.configuration.eventTriggerConfig.scale.maxExecutions"


def activity(seconds: float, body: dict[str, Any]) -> dict[str, Any]:
    """A Started/Succeeded pair of one write, as kql/config_changes.kql projects the Activity Log."""
    props = json.dumps({"requestbody": json.dumps(body)})
    return {"TimeGenerated": T0 + timedelta(seconds=seconds), "CategoryValue": "Administrative",
            "OperationNameValue": "MICROSOFT.APP/JOBS/WRITE", "ActivityStatusValue": "Succeeded",
            "Caller": PIPELINE, "ResourceId": JOB.ref.id.lower(), "CorrelationId": f"c-{seconds}",
            "Properties": props}


def graph(seconds: float, changes: dict[str, tuple[str, str]]) -> dict[str, Any]:
    stamp = (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    return {"properties": {"targetResourceId": JOB.ref.id, "targetResourceType": "Microsoft.App/jobs",
                           "changeType": "Update",
                           "changeAttributes": {"timestamp": stamp, "changedBy": PIPELINE,
                                                "changedByType": "Application",
                                                "operation": "Microsoft.App/jobs/write"},
                           "changes": {p: {"previousValue": b, "newValue": a} for p, (b, a) in changes.items()}}}


def test_one_write_seen_by_resource_graph_and_the_activity_log_is_one_change() -> None:
    # The Activity Log's Succeeded event and Resource Graph's timestamp differ by seconds; the operation is
    # `…/WRITE` in one and `Update` in the other. Resource Graph knows the before: its record stands.
    body = {"properties": {"configuration": {"eventTriggerConfig": {"scale": {"maxExecutions": 2}}}}}
    records = change_records(JOB, [activity(4, body)], graph_rows=[graph(12, {MAX_EXECUTIONS: ("20", "2")})])
    assert [(r.source, r.what) for r in records] == [(ChangeSource.RESOURCE_GRAPH, "maxExecutions 20 → 2")]


def test_two_writes_minutes_apart_stay_two_changes() -> None:
    first = {"properties": {"configuration": {"eventTriggerConfig": {"scale": {"maxExecutions": 2}}}}}
    records = change_records(JOB, [activity(0, first)],
                             graph_rows=[graph(0, {MAX_EXECUTIONS: ("20", "2")}),
                                         graph(600, {"properties.configuration.replicaTimeout": ("1800", "600")})])
    assert [r.what for r in records] == ["replicaTimeout 1800 → 600", "maxExecutions 20 → 2"]


def test_writes_of_different_properties_at_the_same_moment_stay_apart() -> None:
    body = {"properties": {"configuration": {"replicaTimeout": 600}}}
    records = change_records(JOB, [activity(0, body)], graph_rows=[graph(5, {MAX_EXECUTIONS: ("20", "2")})])
    assert len(records) == 2


def test_a_scale_rule_by_position_is_named_as_the_job_names_it() -> None:
    # Resource Graph writes rules[1]; the rule is named from the job as it is now, in the path and the line.
    path = "properties.configuration.eventTriggerConfig.scale.rules[1].metadata.queueName"
    now = {"id": JOB.ref.id, "properties": {"configuration": {"eventTriggerConfig": {"scale": {"rules": [
        {"name": "parcels-eu", "metadata": {"queueName": "parcels-eu"}},
        {"name": "parcels-us", "metadata": {"queueName": "parcels-na"}}]}}}}}
    [record] = change_records(JOB, [], graph_rows=[graph(0, {path: ("parcels-us", "parcels-na")})], current=[now])
    assert record.what == "scale rule parcels-us queueName parcels-us → parcels-na"
    assert record.changes[0].path == "properties.configuration.eventTriggerConfig.scale.rules[name=parcels-us]" \
                                     ".metadata.queueName"
    [unnamed] = change_records(JOB, [], graph_rows=[graph(0, {path: ("parcels-us", "parcels-na")})])
    assert unnamed.what == "scale rule [1] queueName parcels-us → parcels-na"


def test_a_patch_setting_a_whole_list_and_the_property_resource_graph_names_are_one_change() -> None:
    env = JOB.environment_id
    patch = {"properties": {"workloadProfiles": [{"name": "Consumption"}, {"name": "D16-batch", "maximumCount": 3}]}}
    row = activity(0, patch) | {"ResourceId": env.lower(),
                                "OperationNameValue": "MICROSOFT.APP/MANAGEDENVIRONMENTS/WRITE"}
    graph_row = graph(9, {"properties.workloadProfiles[1].maximumCount": ("10", "3")})
    graph_row["properties"]["targetResourceId"] = env
    [record] = change_records(JOB, [row], graph_rows=[graph_row])
    assert (record.source, record.changes[0].before, record.changes[0].after) == (
        ChangeSource.RESOURCE_GRAPH, "10", "3")
    # The PATCH body named the profiles: position 1 is D16-batch, though the environment itself was not read.
    assert record.what == "environment env workload profile D16-batch maximumCount 10 → 3"


def test_an_environment_variable_by_position_is_named_and_its_value_never_shown() -> None:
    path = "properties.template.containers[0].env[0].value"
    now = {"id": JOB.ref.id, "properties": {"template": {"containers": [
        {"name": "ledger", "env": [{"name": "POINTS_DB", "value": "postgres://ledger@pg/points"}]}]}}}
    [record] = change_records(JOB, [], graph_rows=[graph(0, {path: ("Host=pg", "postgres://ledger@pg/points")})],
                              current=[now])
    assert record.changes[0].path == "properties.template.containers[name=ledger].env[name=POINTS_DB].value"
    assert record.what == "env POINTS_DB value changed"
    assert "pg" not in repr(record)


def test_the_property_the_line_names_comes_first_in_the_diff() -> None:
    memory = "properties.template.containers[0].resources.memory"
    storage = "properties.template.containers[0].resources.ephemeralStorage"
    [record] = change_records(JOB, [], graph_rows=[graph(0, {storage: ("8Gi", "4Gi"), memory: ("4Gi", "2Gi")})])
    assert [c.path for c in record.changes] == [memory, storage]
    assert record.what == "memory 4Gi → 2Gi (+1 more)"
