"""Scenario files: loaded from YAML or JSON, validated strictly at the scenario's own levels."""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.emulator.scenario import (
    FAULT_TARGETS,
    LOG_DESTINATIONS,
    QUEUE_TYPES,
    FaultSpec,
    QueueSpec,
    ScenarioError,
    load_scenario,
    parse_scenario,
)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "scenarios"
JOB_ID = "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.App/jobs/job-1"


def minimal(**extra: Any) -> dict[str, Any]:
    return {
        "name": "minimal",
        "now": "2026-11-28T10:00:00Z",
        "subscription": "sub-1",
        "jobs": [{"id": JOB_ID, "name": "job-1", "type": "Microsoft.App/jobs", "properties": {}}],
        **extra,
    }


def problems_of(data: Any, source: str = "x.yaml") -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data, source=source)
    assert caught.value.source == source
    return caught.value.problems


# --- files -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.yaml")), ids=lambda p: p.name)
def test_the_emulator_fixture_scenarios_load(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.path == path
    assert scenario.now.tzinfo is not None


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.name)
def test_the_bundled_scenarios_load(path: Path) -> None:
    assert load_scenario(path).name


def test_yaml_timestamps_stay_the_strings_they_are_in_the_file() -> None:
    scenario = load_scenario(FIXTURES / "emulator-log-analytics.yaml")
    job = scenario.jobs[0]
    assert job["systemData"]["lastModifiedAt"] == "2026-11-28T09:02:00Z"
    assert job["executions"][0]["properties"]["startTime"] == "2026-11-28T09:10:00+00:00"
    assert scenario.tables["ContainerAppSystemLogs_CL"][0]["TimeGenerated"] == "2026-11-28T09:10:05Z"
    assert scenario.now == datetime(2026, 11, 28, 10, tzinfo=UTC)


def test_the_fixture_reads_into_typed_parts() -> None:
    scenario = load_scenario(FIXTURES / "emulator-log-analytics.yaml")
    assert scenario.log_destination == "log-analytics"
    assert scenario.queues[0] == QueueSpec(type="azure-queue", account="stordersprod", name="orders", depth=1520)
    assert scenario.queues[1].dead_letter == 3 and scenario.queues[1].resource_group == "rg-messaging"
    assert scenario.metrics[0].name == "Usage Bytes"
    assert scenario.metrics[0].points[0] == (datetime(2026, 11, 28, 9, 10, tzinfo=UTC), 498000000)
    assert scenario.expect is not None and scenario.expect["cause"] == "oom"


def test_a_json_scenario_loads(tmp_path: Path) -> None:
    path = tmp_path / "world.json"
    path.write_text(json.dumps(minimal(faults=[{"target": "logs", "status": 429, "times": 1}])))
    scenario = load_scenario(path)
    assert scenario.faults == (FaultSpec(target="logs", status=429, times=1),)


def test_an_unreadable_or_malformed_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"missing\.yaml: cannot read"):
        load_scenario(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match=r"broken\.yaml: not valid YAML"):
        load_scenario(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- just\n- a list\n")
    with pytest.raises(ScenarioError, match=r"list\.yaml: the document must be a mapping"):
        load_scenario(listed)


def test_every_problem_is_reported_at_once_with_file_and_key_path(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "broken",
                "now": "2026-11-28T10:00:00",  # no zone
                "subscription": "sub-1",
                "log_destination": "splunk",
                "jobs": [{"id": "/not/a/job", "name": "job-1", "propertes": {}}],
                "queues": [{"type": "kafka", "account": "a", "name": "q", "depth": -1}],
                "faults": [{"target": "logs", "stauts": 500}],
                "metrics": [{"job": "nope", "name": "CPU", "points": [["2026-11-28T09:00:00Z", "high"]]}],
                "expect": {"cause": "gremlins", "checks": {"failures": "meh"}, "verdict": "x"},
                "colour": "blue",
            }
        )
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    expected = [
        "colour: unknown key",
        "now: must be an ISO 8601 timestamp with a zone",
        "log_destination: 'splunk' is not one of",
        "jobs[0].id: must be a job resource id",
        "jobs[0].type: required key is missing",
        "jobs[0].properties: required key is missing",
        "queues[0].type: 'kafka' is not one of",
        "queues[0].depth: must be at least 0",
        "faults[0].stauts: unknown key",
        "metrics[0].job: no job named 'nope'",
        "metrics[0].name: 'CPU' is not one of",
        "metrics[0].points[0][1]: must be a number",
        "expect.verdict: unknown key",
        "expect.cause: 'gremlins' is not one of",
        "expect.checks.failures: 'meh' is not one of",
    ]
    for fragment in expected:
        assert f"{path}: {fragment}" in message, fragment
    assert len(caught.value.problems) == len(expected)


def test_required_keys_are_named() -> None:
    problems = problems_of({"description": "nothing else"})
    assert problems == [
        "name: required key is missing",
        "now: required key is missing",
        "subscription: required key is missing",
        "jobs: required key is missing",
    ]


def test_types_are_checked() -> None:
    problems = problems_of(
        minimal(
            name=7,
            jobs="job-1",
            tables={"T": {"not": "rows"}},
            faults=[{"target": "arm", "latency_ms": "slow", "drop": "yes", "times": 0}],
        )
    )
    assert "name: must be a non-empty string, not a int" in problems
    assert "jobs: must be a list, not a string" in problems
    assert "tables.T: must be a list of rows (mappings of column to value)" in problems
    assert "faults[0].latency_ms: must be a number, not a string" in problems
    assert "faults[0].drop: must be true or false, not a string" in problems
    assert "faults[0].times: must be at least 1" in problems


def test_fault_rules() -> None:
    problems = problems_of(
        minimal(
            faults=[
                {"target": "arm", "partial": True},
                {"target": "logs", "partial": True, "status": 500},
                {"target": "queue", "status": 302},
                {"target": "dns"},
            ]
        )
    )
    assert problems == [
        "faults[0].partial: only a logs fault can be partial",
        "faults[1].partial: cannot be combined with status or drop",
        "faults[2].status: must be 0 (succeed) or an error status 400-599, not 302",
        "faults[3].target: 'dns' is not one of: arm, logs, queue",
    ]


def test_job_ids_and_execution_names_are_checked_but_resources_pass_through() -> None:
    problems = problems_of(
        minimal(jobs=[{"id": JOB_ID, "name": "other", "type": "Microsoft.App/jobs", "properties": {"x": 1},
                       "executions": [{"status": 1}]}])
    )
    assert problems == [
        "jobs[0].name: 'other' does not match the id's job 'job-1'",
        "jobs[0].executions[0].name: required key is missing",
        "jobs[0].executions[0].properties: required key is missing",
    ]
    body = {"id": JOB_ID, "name": "JOB-1", "type": "Microsoft.App/jobs", "properties": {}, "anything": {"deep": [1, 2]},
            "executions": [{"name": "e", "x": 1, "properties": {"status": "Succeeded", "y": 2}}]}
    assert parse_scenario(minimal(jobs=[body])).jobs == [body]


def test_storage_queues_have_no_dead_letters() -> None:
    problems = problems_of(minimal(queues=[{"type": "azure-queue", "account": "a", "name": "q", "dead_letter": 2}]))
    assert problems == ["queues[0].dead_letter: Storage queues have no dead-letter queue"]


def test_an_empty_expect_and_null_rollback_image_are_fine() -> None:
    assert parse_scenario(minimal(expect={})).expect == {}
    assert parse_scenario(minimal(expect={"rollback_image": None})).expect == {"rollback_image": None}
    assert parse_scenario(minimal()).expect is None


# --- properties ----------------------------------------------------------------------------------------

_LEVELS: dict[str, frozenset[str]] = {
    "": frozenset(minimal())
    | {"description", "workspace_id", "log_destination", "tables", "metrics"}
    | {"queues", "faults", "expect"}
    | {"resources", "role_assignments", "role_definitions", "resource_changes"}
    | {"alert_rules", "action_groups"},
    "alert_rules": frozenset({"metric", "scheduled_query", "activity_log"}),
    "queues[0]": frozenset({"type", "account", "resource_group", "name", "depth", "dead_letter"}),
    "faults[0]": frozenset({"target", "path", "latency_ms", "status", "retry_after", "partial", "drop", "times"}),
    "metrics[0]": frozenset({"job", "name", "points"}),
    "expect": frozenset(
        {"job", "cause", "confidence", "suspected_change", "rollback_image", "evidence_complete", "checks", "change"}
    ),
    "expect.change": frozenset({"what", "path", "before", "after", "caller", "caller_kind", "source", "resource"}),
}


def _with_entries() -> dict[str, Any]:
    return minimal(
        queues=[{"type": "azure-queue", "account": "acct", "name": "q"}],
        faults=[{"target": "arm"}],
        metrics=[{"job": "job-1", "name": "Executions", "points": []}],
        expect={"cause": "oom", "change": {"path": "properties.configuration.replicaTimeout"}},
        alert_rules={"metric": []},
    )


@given(
    level=st.sampled_from(sorted(_LEVELS)),
    key=st.text(min_size=1, max_size=20),
    value=st.one_of(st.none(), st.integers(), st.text(max_size=5), st.booleans()),
)
def test_an_unknown_key_is_always_rejected_with_its_path(level: str, key: str, value: Any) -> None:
    if key in _LEVELS[level]:
        return
    data = _with_entries()
    if level == "":
        data[key] = value
    elif level == "expect":
        data["expect"][key] = value
    elif level == "expect.change":
        data["expect"]["change"][key] = value
    elif level == "alert_rules":
        data["alert_rules"][key] = value
    else:
        data[level.split("[")[0]][0][key] = value
    path = f"{level}.{key}" if level else key
    assert f"{path}: unknown key" in problems_of(data)


_aware_times = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]),
).map(lambda t: t.replace(microsecond=0))
_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
_queues = st.builds(
    QueueSpec,
    type=st.sampled_from(QUEUE_TYPES),
    account=_names,
    name=_names,
    depth=st.integers(0, 10**6),
    resource_group=st.none() | _names,
).map(lambda q: q if q.type == "azure-servicebus" else QueueSpec(q.type, q.account, q.name, q.depth))
_faults = st.builds(
    FaultSpec,
    target=st.sampled_from(FAULT_TARGETS),
    path=st.sampled_from(["/", "/query", "/jobs/"]),
    latency_ms=st.integers(0, 5000),
    status=st.sampled_from([0, 429, 500, 503]),
    retry_after=st.none() | st.integers(0, 30),
    drop=st.booleans(),
    times=st.none() | st.integers(1, 5),
)


@given(
    name=_names,
    now=_aware_times,
    subscription=_names,
    destination=st.sampled_from(LOG_DESTINATIONS),
    queues=st.lists(_queues, max_size=3),
    faults=st.lists(_faults, max_size=3),
    expect=st.none() | st.fixed_dictionaries({"job": _names, "cause": st.sampled_from(["oom", "healthy"])}),
)
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
def test_valid_scenarios_round_trip_through_json_and_yaml(
    name: str,
    now: datetime,
    subscription: str,
    destination: str,
    queues: list[QueueSpec],
    faults: list[FaultSpec],
    expect: dict[str, Any] | None,
) -> None:
    data = minimal(name=name, now=now.isoformat(), subscription=subscription, log_destination=destination)
    data["queues"] = [_plain(q) for q in queues]
    data["faults"] = [_plain(f) for f in faults]
    if expect is not None:
        data["expect"] = expect
    scenario = parse_scenario(data)
    assert scenario.now == now
    assert list(scenario.queues) == queues and list(scenario.faults) == faults
    assert parse_scenario(json.loads(json.dumps(scenario.to_dict()))) == scenario
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "round.yaml"
        path.write_text(yaml.safe_dump(scenario.to_dict()))
        assert load_scenario(path) == scenario


def _plain(spec: QueueSpec | FaultSpec) -> dict[str, Any]:
    return {k: v for k, v in asdict(spec).items() if v is not None}


# --- what ARM always sends (issue 17 item 2) -----------------------------------------------------------


def test_a_misspelt_properties_is_a_job_without_properties() -> None:
    job = {"id": JOB_ID, "name": "job-1", "type": "Microsoft.App/jobs", "propertes": {"configuration": {}}}
    problems = problems_of(minimal(jobs=[job]))
    assert "jobs[0].properties: required key is missing" in problems
    # The misspelt key itself is kept (ARM bodies carry extra fields), so the missing one is what is named.
    assert problems == ["jobs[0].properties: required key is missing"]


def test_an_execution_status_outside_arms_vocabulary_is_refused() -> None:
    job = {**minimal()["jobs"][0], "executions": [{"name": "e-1", "properties": {"status": "Faild"}}]}
    assert problems_of(minimal(jobs=[job])) == [
        "jobs[0].executions[0].properties.status: 'Faild' is not one of: "
        "Running, Processing, Stopped, Degraded, Failed, Unknown, Succeeded"
    ]


def test_a_row_needs_a_parsable_time_generated() -> None:
    rows = [{"TimeGenerated": "2026-11-28T09:00:00Z"}, {"Log_s": "x"}, {"TimeGenerated": "yesterday"}]
    problems = problems_of(minimal(tables={"ContainerAppConsoleLogs_CL": rows}))
    assert problems == [
        "tables.ContainerAppConsoleLogs_CL[1].TimeGenerated: required key is missing",
        "tables.ContainerAppConsoleLogs_CL[2].TimeGenerated: must be an ISO 8601 timestamp "
        "(e.g. 2026-11-28T09:10:00Z), not 'yesterday'",
    ]


def test_a_missing_or_invalid_scenario_exits_2_naming_the_key(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    assert main(["triage", "job-1", "--scenario", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml: No such file or directory" in capsys.readouterr().err
    path = tmp_path / "typo.yaml"
    job = {"id": JOB_ID, "name": "job-1", "type": "Microsoft.App/jobs", "propertes": {},
           "executions": [{"name": "e-1", "properties": {"status": "Faild"}}]}
    path.write_text(yaml.safe_dump(minimal(jobs=[job])))
    assert main(["triage", "job-1", "--scenario", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: jobs[0].properties: required key is missing" in err
    assert "jobs[0].executions[0].properties.status: 'Faild' is not one of" in err
    assert "Traceback" not in err


# --- change evidence keys (issue 10) ----------------------------------------------------------------------

RG = "/subscriptions/sub-1/resourceGroups/rg-1"
IDENTITY_ID = f"{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-job-1"


def _change_row(**properties: Any) -> dict[str, Any]:
    return {
        "properties": {
            "targetResourceId": JOB_ID,
            "targetResourceType": "microsoft.app/jobs",
            "changeType": "Update",
            "changeAttributes": {"timestamp": "2026-11-28T09:02:00.0000000Z", "changedBy": "dev@contoso.com"},
            "changes": {"properties.configuration.replicaTimeout": {"previousValue": "1800", "newValue": "300"}},
            **properties,
        }
    }


def test_the_change_evidence_keys_load_as_written() -> None:
    identity = {"id": IDENTITY_ID, "name": "id-job-1", "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
                "properties": {"principalId": "p-1"}}
    assignment = {
        "id": f"{RG}/providers/Microsoft.Authorization/roleAssignments/ra-1", "name": "ra-1",
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/rd-1",
                       "principalId": "p-1", "principalType": "ServicePrincipal", "scope": RG},
    }
    definition = {"id": "/subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions/rd-1", "name": "rd-1",
                  "type": "Microsoft.Authorization/roleDefinitions",
                  "properties": {"roleName": "Key Vault Secrets User"}}
    change = {"what": "replicaTimeout 1800 → 300", "path": "properties.configuration.replicaTimeout",
              "before": 1800, "after": 300, "caller": "dev@contoso.com", "caller_kind": "person",
              "source": "resource-graph"}
    scenario = parse_scenario(minimal(resources=[identity], role_assignments=[assignment],
                                      role_definitions=[definition], resource_changes=[_change_row()],
                                      expect={"cause": "timeout", "change": change}))
    assert scenario.resources == [identity] and scenario.role_assignments == [assignment]
    assert scenario.role_definitions == [definition] and scenario.resource_changes == [_change_row()]
    assert scenario.expect is not None and scenario.expect["change"]["path"] == change["path"]
    assert scenario.expect.change is not None and scenario.expect.change.after == 300
    assert scenario.expect.get("change") == change and "rollback_image" not in scenario.expect
    assert parse_scenario(json.loads(json.dumps(scenario.to_dict()))) == scenario


def test_the_change_evidence_keys_are_checked() -> None:
    problems = problems_of(minimal(
        resources=[{"id": "not-an-id", "name": "x"}],
        role_assignments=[{"id": f"{RG}/providers/Microsoft.Authorization/roleAssignments/a", "name": "a",
                           "properties": {"principalId": "p", "scope": RG, "principalType": "Robot"}}],
        resource_changes=[_change_row(changeType="Modify"), {"properties": {"changeType": "Update"}}],
        expect={"change": {"caller_kind": "bot", "source": "guess", "colour": "red"}},
    ))
    assert problems == [
        "resources[0].id: must be an ARM resource id (/subscriptions/… or /providers/…), not 'not-an-id'",
        "resources[0].type: required key is missing",
        "role_assignments[0].properties.roleDefinitionId: required key is missing",
        "role_assignments[0].properties.principalType: 'Robot' is not one of: "
        "User, Group, ServicePrincipal, ForeignGroup, Device",
        "resource_changes[0].properties.changeType: 'Modify' is not one of: Create, Update, Delete",
        "resource_changes[1].properties.targetResourceId: required key is missing",
        "resource_changes[1].properties.changeAttributes: required key is missing",
        "expect.change.caller_kind: 'bot' is not one of: person, pipeline, unknown",
        "expect.change.source: 'guess' is not one of: resource-graph, activity-log, executions",
        "expect.change.colour: unknown key",
    ]


ALERT_ID = "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.Insights"


def test_the_alerting_keys_load_as_written_and_are_checked() -> None:
    metric = {"id": f"{ALERT_ID}/metricAlerts/m", "name": "m", "type": "Microsoft.Insights/metricAlerts",
              "properties": {"enabled": True, "scopes": [JOB_ID],
                             "actions": [{"actionGroupId": f"{ALERT_ID}/actionGroups/g"}]}}
    group = {"id": f"{ALERT_ID}/actionGroups/g", "name": "g",
             "properties": {"enabled": True, "emailReceivers": []}}
    scenario = parse_scenario(minimal(alert_rules={"metric": [metric]}, action_groups=[group]))
    assert scenario.alert_rules == {"metric": [metric]} and scenario.action_groups == [group]
    assert parse_scenario(json.loads(json.dumps(scenario.to_dict()))) == scenario
    problems = problems_of(minimal(alert_rules={"metric": [{"id": "rule-1", "properties": {}}], "log": []},
                                   action_groups=[{"id": f"{ALERT_ID}/actionGroups/g", "name": "g"}]))
    assert problems == [
        "alert_rules.metric[0].id: must be an ARM resource id (/subscriptions/… or /providers/…), not 'rule-1'",
        "alert_rules.metric[0].name: required key is missing",
        "alert_rules.log: unknown key",
        "action_groups[0].properties: required key is missing",
    ]
