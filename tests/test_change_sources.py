"""Resource Graph change rows and Activity Log write bodies -> ChangeRecords.

Payload shapes from the official examples (tests/fixtures/azure/SOURCES.md) and real Azure CLI recorded
bodies (tests/fixtures/azure/recorded/SOURCES.md).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.evidence.change_kinds import NOT_RECORDED, record_tags, resource_kind
from bot.evidence.change_match import explains, rank, summarise
from bot.evidence.change_records import VALUE_CHANGED, CallerKind, ChangeSource, PropertyChange, ResourceKind
from bot.evidence.change_sources import activity_records, execution_record, resource_graph_records

AZURE = Path(__file__).parent / "fixtures" / "azure"
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
JOB = f"{SUB}/resourceGroups/rg-orders/providers/Microsoft.App/jobs/orders"
VAULT = f"{SUB}/resourceGroups/rg-orders/providers/Microsoft.KeyVault/vaults/kv-tax"
PRINCIPAL = "74adfa4f-dedf-8dc0-ca29-b6d1a69ab312"
T0 = datetime(2024, 4, 18, 3, 0, tzinfo=UTC)


def load(name: str) -> Any:
    return json.loads((AZURE / name).read_text())


def event(minutes: float, operation: str, resource_id: str, *, status: str = "Succeeded", caller: str = "a@contoso.com",
          correlation: str | None = None, category: str = "Administrative", **properties: Any) -> dict[str, Any]:
    """A row as kql/config_changes.kql projects it; bodies inside Properties are JSON strings, as in Properties_d."""
    props = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in properties.items()}
    return {"TimeGenerated": T0 + timedelta(minutes=minutes), "CategoryValue": category,
            "OperationNameValue": operation, "ActivityStatusValue": status, "Caller": caller,
            "ResourceId": resource_id.lower(), "CorrelationId": correlation or f"c-{minutes}-{operation}",
            "Properties": json.dumps(props)}


# --- Resource Graph ---------------------------------------------------------------------------------------

def test_the_official_change_example_becomes_one_record_without_platform_noise() -> None:
    [record] = resource_graph_records([load("resourcechanges.GetChange.json")["responses"]["200"]["body"]])
    assert record.source == ChangeSource.RESOURCE_GRAPH
    assert record.resource_id.endswith("/storageAccounts/myStorageAccount")
    assert record.kind == ResourceKind.EVENT_SOURCE
    assert (record.operation, record.caller, record.caller_kind, record.client) == (
        "Microsoft.Namespace/ResourceType/write", "someAlias@microsoft.com", CallerKind.PERSON, "Portal")
    assert record.time == datetime(2021, 11, 19, 14, 29, 9, 921000, tzinfo=UTC)
    # provisioningState Updating -> Succeeded is the platform's bookkeeping, not what someone changed.
    assert record.changes == (PropertyChange("tags.key1", None, "someValue"),)
    assert record.what == "storage account myStorageAccount key1 (none) → someValue"


def test_the_docs_properties_bag_reads_the_string_null_as_absent() -> None:
    [record] = resource_graph_records([load("resourcechanges.get-resource-changes.change-event-properties.json")])
    assert record.changes == (PropertyChange("tags.key1", None, "NewTagValue"),)
    assert record.time == datetime(2024, 4, 9, 13, 26, 17, 347000, tzinfo=UTC)
    assert (record.caller_kind, record.client, record.kind) == (CallerKind.PERSON, "ARM Template", ResourceKind.OTHER)


def test_a_create_without_changes_is_kept_and_an_unknown_caller_is_unknown() -> None:
    records = resource_graph_records(load("resourcechanges.ListChanges.json")["responses"]["200"]["body"]["value"])
    # Same timestamp: ties go by resource id, then path (none sorts first).
    assert [(r.operation, r.changes) for r in records] == [
        ("Create", ()), ("Update", (PropertyChange("tags.key1", None, "someValue"),))]
    assert {(r.caller, r.caller_kind) for r in records} == {(None, CallerKind.UNKNOWN)}


def job_change_row(changes: dict[str, Any], **attributes: Any) -> dict[str, Any]:
    return {"id": f"{JOB}/providers/Microsoft.Resources/changes/1", "type": "microsoft.resources/changes",
            "properties": {"targetResourceId": JOB, "targetResourceType": "microsoft.app/jobs", "changeType": "Update",
                           "changeAttributes": {"timestamp": "2026-11-28T09:02:00.1234567Z", **attributes},
                           "changes": changes}}


def test_a_job_change_names_its_properties_and_hides_secrets() -> None:
    row = job_change_row({
        "properties.configuration.replicaTimeout": {"previousValue": "1800", "newValue": "300"},
        "properties.configuration.secrets[0].value": {"previousValue": "old-secret", "newValue": "new-secret"},
        "properties.template.containers[0].env[1].value": {"previousValue": "p1", "newValue": "p2"},
        "properties.configuration.eventTriggerConfig.scale.rules[0].metadata.connection": {
            "previousValue": "AccountName=st;AccountKey=abc==", "newValue": "AccountName=st;AccountKey=def=="},
        "properties.provisioningState": {"previousValue": "Updating", "newValue": "Succeeded"},
    }, changedBy="9f3c1a52-6c4e-4a3b-9e61-2f1d0f7e8a11", changedByType="AppId", clientType="Azure CLI")
    [record] = resource_graph_records([row])
    assert record.kind == ResourceKind.JOB and record.caller_kind == CallerKind.PIPELINE
    assert {c.path: (c.before, c.after) for c in record.changes} == {
        "properties.configuration.replicaTimeout": ("1800", "300"),
        "properties.configuration.secrets[0].value": (VALUE_CHANGED, VALUE_CHANGED),
        "properties.template.containers[0].env[1].value": (VALUE_CHANGED, VALUE_CHANGED),
        "properties.configuration.eventTriggerConfig.scale.rules[0].metadata.connection": (VALUE_CHANGED,
                                                                                            VALUE_CHANGED),
    }
    assert record.what == "replicaTimeout 1800 → 300 (+3 more)"
    for secret in ("old-secret", "new-secret", "p1", "p2", "abc==", "def=="):
        assert secret not in repr(record)


def test_rows_with_only_platform_noise_or_no_target_are_dropped() -> None:
    noise = job_change_row({"properties.provisioningState": {"previousValue": "Updating", "newValue": "Succeeded"}})
    assert resource_graph_records([noise, {"properties": {"changeType": "Update"}}, {}]) == []


# --- Activity Log -----------------------------------------------------------------------------------------

def recorded(name: str) -> dict[str, Any]:
    body: dict[str, Any] = load(f"recorded/{name}")
    return body


def test_real_recorded_writes_are_diffed_one_against_the_previous() -> None:
    before, patch = recorded("manual_job.json"), recorded("manual_job_update_request.json")
    job_id = before["id"]
    put = {"location": before["location"], "properties": before["properties"], "identity": before["identity"]}
    rows = [
        event(0, "Microsoft.App/jobs/write", job_id, status="Started", requestbody=put, correlation="c0"),
        event(0.1, "Microsoft.App/jobs/write", job_id, status="Succeeded", correlation="c0"),
        event(10, "MICROSOFT.APP/JOBS/WRITE", job_id, status="Start", requestbody=patch, correlation="c1"),
        event(10.2, "MICROSOFT.APP/JOBS/WRITE", job_id, status="Success", correlation="c1", statusCode="Accepted"),
    ]
    newest, oldest = activity_records(rows)
    assert oldest.changes == () and "not recorded" in oldest.what  # the baseline: its own before is unknown
    assert newest.time == T0 + timedelta(minutes=10.2)  # when it took effect, with the Start event's body
    assert newest.source == ChangeSource.ACTIVITY_LOG and newest.caller_kind == CallerKind.PERSON
    assert {c.path: (c.before, c.after) for c in newest.changes} == {
        "properties.configuration.replicaTimeout": (200, 300),
        "properties.configuration.replicaRetryLimit": (2, 1),
        "properties.template.containers[name=job1000002].resources.cpu": (0.25, 0.5),
        "properties.template.containers[name=job1000002].resources.memory": ("0.5Gi", "1.0Gi"),
    }
    assert newest.what == "replicaTimeout 200 → 300 (+3 more)"


def test_a_secret_in_a_recorded_request_body_never_leaves() -> None:
    created = recorded("event_job_create_request.json")
    changed = copy.deepcopy(created)
    changed["properties"]["configuration"]["secrets"][0]["value"] = "rotatedConnString"
    changed["properties"]["configuration"]["eventTriggerConfig"]["scale"]["maxExecutions"] = 2
    rows = [event(0, "Microsoft.App/jobs/write", JOB, requestbody=created),
            event(5, "Microsoft.App/jobs/write", JOB, requestbody=changed)]
    records = activity_records(rows)
    assert {c.path: (c.before, c.after) for c in records[0].changes} == {
        "properties.configuration.eventTriggerConfig.scale.maxExecutions": (10, 2),
        "properties.configuration.secrets[name=connection-string-secret].value": (VALUE_CHANGED, VALUE_CHANGED),
    }
    assert records[0].what == "maxExecutions 10 → 2 (+1 more)"
    assert "testConnString" not in repr(records) and "rotatedConnString" not in repr(records)


def test_failed_writes_other_categories_and_reads_are_not_changes() -> None:
    rows = [
        event(0, "Microsoft.App/jobs/write", JOB, status="Started", correlation="f", requestbody={"location": "x"}),
        event(1, "Microsoft.App/jobs/write", JOB, status="Failed", correlation="f"),
        event(2, "Microsoft.ServiceHealth/incident/action", JOB, category="ServiceHealth"),
        event(3, "Microsoft.ServiceBus/namespaces/authorizationRules/listKeys/action", JOB),
        {"TimeGenerated": None, "OperationNameValue": "Microsoft.App/jobs/write"},
        {"TimeGenerated": "not a time", "OperationNameValue": "Microsoft.App/jobs/write"},
    ]
    assert activity_records(rows) == []


def test_a_truncated_body_breaks_the_chain_instead_of_blaming_the_next_write() -> None:
    full = {"location": "x", "properties": {"configuration": {"replicaTimeout": 1800}}}
    cut = '{"requestbody": "{\\"location\\": \\"x\\", \\"pro'
    rows = [event(0, "Microsoft.App/jobs/write", JOB, requestbody=full),
            {**event(1, "Microsoft.App/jobs/write", JOB), "Properties": cut},
            event(2, "Microsoft.App/jobs/write", JOB,
                  requestbody={"location": "x", "properties": {"configuration": {"replicaTimeout": 300}}}),
            {**event(3, "Microsoft.App/jobs/write", JOB), "Properties": "not json"}]
    assert [r.changes for r in activity_records(rows)] == [(), (), (), ()]


def test_a_deleted_role_assignment_says_which_role_of_whom() -> None:
    assignment = load("authorization.RoleAssignments_Get.json")["responses"]["200"]["body"]
    assignment["properties"] |= {"principalId": PRINCIPAL, "principalType": "ServicePrincipal", "scope": VAULT,
                                 "roleDefinitionId": f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/"
                                                     "4633458b-17de-408a-b874-0445c86b69e6"}
    assignment_id = f"{VAULT}/providers/Microsoft.Authorization/roleAssignments/b0f43c54-e787-4862-89b1-a653fa9cf747"
    rows = [event(0, "Microsoft.Authorization/roleAssignments/delete", assignment_id, caller="iam-cleanup@contoso.com",
                  responseBody=assignment)]
    [record] = activity_records(rows)
    assert record.kind == ResourceKind.ROLE_ASSIGNMENT and "role-assignment-deleted" in record_tags(record)
    assert PropertyChange("properties.principalId", PRINCIPAL, None) in record.changes
    assert summarise(record, job_principals=[PRINCIPAL.upper()]) == (
        "role assignment Key Vault Secrets User of the job's identity deleted")
    assert record.what == f"role assignment Key Vault Secrets User of principal {PRINCIPAL} deleted"


def test_actions_on_what_the_job_depends_on() -> None:
    rule = f"{SUB}/resourceGroups/rg/providers/Microsoft.ServiceBus/namespaces/sb-orders/authorizationRules/listen"
    queue = f"{SUB}/resourceGroups/rg/providers/Microsoft.ServiceBus/namespaces/sb-orders/queues/orders"
    storage = f"{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/storders"
    rows = [event(0, "Microsoft.ServiceBus/namespaces/authorizationRules/regenerateKeys/action", rule),
            event(1, "Microsoft.ServiceBus/namespaces/queues/delete", queue),
            event(2, "Microsoft.App/jobs/stop/action", JOB, caller="ops@contoso.com"),
            event(3, "Microsoft.Storage/storageAccounts/regenerateKey/action", storage)]
    whats = {r.what: (r.kind, sorted(record_tags(r))) for r in activity_records(rows)}
    assert whats == {
        "keys of Service Bus authorization rule listen regenerated": (ResourceKind.EVENT_SOURCE, ["keys-rotated"]),
        "Service Bus queue orders deleted": (ResourceKind.EVENT_SOURCE, ["event-source-deleted"]),
        "job orders stopped by hand": (ResourceKind.JOB, ["lifecycle"]),
        "keys of storage account storders regenerated": (ResourceKind.EVENT_SOURCE, ["keys-rotated"]),
    }


def test_a_key_vault_access_policy_removal() -> None:
    body = {"properties": {"accessPolicies": [{"tenantId": "t", "objectId": PRINCIPAL,
                                               "permissions": {"secrets": ["get", "list"]}}]}}
    rows = [event(0, "Microsoft.KeyVault/vaults/accessPolicies/write", f"{VAULT}/accessPolicies/remove",
                  requestbody=body)]
    [record] = activity_records(rows)
    assert record.kind == ResourceKind.KEY_VAULT and "key-vault-access-policy" in record_tags(record)
    assert [c.path for c in record.changes] == [f"properties.accessPolicies[objectId={PRINCIPAL}]"]
    assert record.resource_id == VAULT.lower()  # the vault changed; `remove` only names the kind of edit
    assert summarise(record, job_principals=[PRINCIPAL]) == (
        "Key Vault kv-tax access policy of the job's identity removed")


def test_a_change_after_the_last_logged_write_is_found_against_the_job_now() -> None:
    job = recorded("manual_job_after_update.json")
    put = {"location": job["location"], "properties": job["properties"]}
    rows = [event(0, "Microsoft.App/jobs/write", job["id"], requestbody=put)]
    now = copy.deepcopy(job)
    now["properties"]["configuration"]["replicaTimeout"] = 30
    now["properties"]["template"]["containers"][0]["resources"]["memory"] = "1.0Gi"  # normalised: not a change
    now["systemData"] |= {"lastModifiedAt": "2024-04-18T05:00:00.1234567", "lastModifiedBy": "portal-user@contoso.com"}
    drift, write = activity_records(rows, current=[now])
    assert drift.time == datetime(2024, 4, 18, 5, 0, 0, 123456, tzinfo=UTC)
    assert (drift.caller, drift.operation) == ("portal-user@contoso.com", "MICROSOFT.APP/JOBS/WRITE")
    assert drift.changes == (PropertyChange("properties.configuration.replicaTimeout", 300, 30),)
    assert write.changes == ()
    # The same GET seconds after the write itself is the write, not a later change.
    now["systemData"]["lastModifiedAt"] = (T0 + timedelta(seconds=20)).isoformat()
    assert len(activity_records(rows, current=[now])) == 1


@pytest.mark.parametrize(("resource_id", "kind"), [
    (JOB, ResourceKind.JOB),
    (f"{SUB}/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/env", ResourceKind.ENVIRONMENT),
    (f"{SUB}/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-tax-docs",
     ResourceKind.IDENTITY),
    (f"{VAULT}/providers/Microsoft.Authorization/roleAssignments/1", ResourceKind.ROLE_ASSIGNMENT),
    (f"{SUB}/providers/Microsoft.Authorization/roleAssignments/1", ResourceKind.ROLE_ASSIGNMENT),
    (VAULT.lower(), ResourceKind.KEY_VAULT),
    (f"{SUB}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acr", ResourceKind.REGISTRY),
    (f"{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st/queueServices/default/queues/q",
     ResourceKind.EVENT_SOURCE),
    (f"{SUB}/resourceGroups/rg/providers/Microsoft.ServiceBus/namespaces/sb/topics/t", ResourceKind.EVENT_SOURCE),
    (f"{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm", ResourceKind.OTHER),
])
def test_resource_kind_from_the_id(resource_id: str, kind: ResourceKind) -> None:
    assert resource_kind(resource_id) == kind


# --- nothing a row can hold crashes the parsing -------------------------------------------------------

_ANY = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=8)
_TEXTS = st.sampled_from(["Microsoft.App/jobs/write", "Microsoft.Authorization/roleAssignments/delete",
                          "Microsoft.KeyVault/vaults/accessPolicies/write", "x/regenerateKeys/action", "", "Update"])


def _field(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(values, _ANY, _ANY.map(json.dumps))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.fixed_dictionaries({}, optional={
    "TimeGenerated": _field(st.sampled_from(["2024-04-18T03:14:28.1391783", "2024-04-18T03:15:00Z"])),
    "OperationNameValue": _field(_TEXTS), "ActivityStatusValue": _field(st.sampled_from(["Start", "Succeeded"])),
    "ResourceId": _field(st.sampled_from([JOB, VAULT, f"{VAULT}/accessPolicies/remove"])),
    "CorrelationId": _field(st.sampled_from(["c1", "c2"])), "Caller": _ANY, "CategoryValue": _ANY,
    "Properties": _field(st.fixed_dictionaries({"requestbody": _ANY.map(json.dumps), "responseBody": _ANY})),
}), max_size=5), st.lists(_ANY, max_size=2))
def test_arbitrary_activity_rows_never_raise(rows: list[dict[str, Any]], current: list[Any]) -> None:
    bodies = [b for b in current if isinstance(b, dict)]
    for item in activity_records(rows, current=bodies):
        assert item.source == ChangeSource.ACTIVITY_LOG


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_ANY.filter(lambda v: isinstance(v, dict)), st.fixed_dictionaries({
    "properties": _field(st.fixed_dictionaries({"targetResourceId": _field(st.just(JOB)),
                                                "changeType": _field(_TEXTS), "changeAttributes": _ANY,
                                                "changes": _ANY}))})), max_size=4))
def test_arbitrary_resource_graph_rows_never_raise(rows: list[dict[str, Any]]) -> None:
    for item in resource_graph_records(rows):
        assert item.source == ChangeSource.RESOURCE_GRAPH


def test_a_lone_patch_lists_what_it_set_without_inventing_a_before() -> None:
    patch = recorded("manual_job_update_request.json")  # what `az containerapp job update` really sends
    [record] = activity_records([event(0, "Microsoft.App/jobs/write", JOB, requestbody=patch)])
    assert {c.path: (c.before, c.after) for c in record.changes} == {
        "properties.configuration.replicaTimeout": (NOT_RECORDED, 300),
        "properties.configuration.replicaRetryLimit": (NOT_RECORDED, 1),
        "properties.template.containers": (NOT_RECORDED, patch["properties"]["template"]["containers"]),
    }
    assert record.what == "replicaTimeout set to 300 (+2 more)"  # a PATCH names the setting, no made-up before
    assert rank("timeout", [record])[0] == record and explains("timeout", record)


def test_patches_on_an_unseen_base_keep_what_they_did_not_see_unknown() -> None:
    first = {"properties": {"configuration": {"replicaTimeout": 1800}}}
    second = {"properties": {"configuration": {"replicaTimeout": 300, "replicaRetryLimit": 0}}}
    newest, _ = activity_records([event(0, "Microsoft.App/jobs/write", JOB, requestbody=first),
                                  event(5, "Microsoft.App/jobs/write", JOB, requestbody=second)])
    assert {c.path: (c.before, c.after) for c in newest.changes} == {
        "properties.configuration.replicaTimeout": (1800, 300),
        "properties.configuration.replicaRetryLimit": (NOT_RECORDED, 0),
    }


def test_a_created_role_assignment_with_the_activity_logs_pascal_case_body() -> None:
    assignment_id = f"{VAULT}/providers/Microsoft.Authorization/roleAssignments/0f2c"
    body = {"Id": "0f2c", "Properties": {"PrincipalId": PRINCIPAL, "PrincipalType": "ServicePrincipal",
                                         "RoleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/"
                                                             "7f951dda-4ed3-4680-a7ca-43fe172d538d", "Scope": VAULT}}
    [record] = activity_records([event(0, "Microsoft.Authorization/roleAssignments/write", assignment_id,
                                       requestbody=body)])
    assert PropertyChange("properties.PrincipalId", None, PRINCIPAL) in record.changes
    assert "role-assignment" in record_tags(record)
    assert summarise(record, job_principals=[PRINCIPAL]) == "role assignment AcrPull of the job's identity created"


def test_two_execution_templates_as_a_record_of_the_jobs_own_paths() -> None:
    executions = load("Job_Executions_Get.json")["responses"]["200"]["body"]["value"]
    good = copy.deepcopy(executions[0]["properties"]["template"])
    bad = copy.deepcopy(good)
    bad["containers"][0]["image"] = "repo/testcontainerappsjob0:v5"
    bad["containers"][0]["env"] = [{"name": "DB_PASSWORD", "value": "hunter2"}]
    when = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    item = execution_record(JOB, good, bad, time=when)
    assert item is not None and item.source == ChangeSource.EXECUTIONS and item.kind == ResourceKind.JOB
    name = good["containers"][0]["name"]
    assert {c.path for c in item.changes} == {f"properties.template.containers[name={name}].image",
                                              f"properties.template.containers[name={name}].env"}
    assert item.what.startswith("image ") and "hunter2" not in repr(item)
    assert execution_record(JOB, good, copy.deepcopy(good), time=when) is None
    assert execution_record(JOB, None, good, time=when) is None


def test_a_resource_graph_update_names_the_arm_operation_it_recorded() -> None:
    # A job write is a job write whichever source saw it: the verdict offers a rollback only for those.
    row = {"properties": {"targetResourceId": JOB, "targetResourceType": "Microsoft.App/jobs", "changeType": "Update",
                          "changeAttributes": {"timestamp": "2026-12-16T04:47:31.0000000Z",
                                               "changedBy": "a@contoso.com", "operation": "Microsoft.App/jobs/write"},
                          "changes": {"properties.configuration.replicaTimeout": {"previousValue": "1800",
                                                                                  "newValue": "240"}}}}
    [record] = resource_graph_records([row])
    assert record.operation == "Microsoft.App/jobs/write"
    assert record.what == "replicaTimeout 1800 → 240"
