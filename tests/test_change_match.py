"""Which change explains which failure, in what order, and the one line that names it."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.evidence.callers import caller_kind
from bot.evidence.change_diff import diff_json
from bot.evidence.change_kinds import NOT_RECORDED
from bot.evidence.change_match import CAUSE_TAGS, explains, rank, summarise, summarised
from bot.evidence.change_records import VALUE_CHANGED, ChangeRecord, ChangeSource, PropertyChange, ResourceKind

RECORDED = Path(__file__).parent / "fixtures" / "azure" / "recorded"
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
SUB = "/subscriptions/s"
JOB = f"{SUB}/resourceGroups/rg/providers/Microsoft.App/jobs/orders"
ENV = f"{SUB}/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/env"
UAMI = f"{SUB}/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-tax-docs"
PRINCIPAL = "74adfa4f-dedf-8dc0-ca29-b6d1a69ab312"
RULES = "properties.configuration.eventTriggerConfig.scale.rules"


def record(minutes_ago: float, *changes: PropertyChange, resource_id: str = JOB, operation: str = "Update",
           kind: ResourceKind | None = None) -> ChangeRecord:
    from bot.evidence.change_kinds import resource_kind
    return ChangeRecord(NOW - timedelta(minutes=minutes_ago), resource_id, kind or resource_kind(resource_id),
                        operation, "a@contoso.com", caller_kind("a@contoso.com"), ChangeSource.RESOURCE_GRAPH,
                        tuple(changes))


def change(path: str, before: Any, after: Any) -> PropertyChange:
    return PropertyChange(path, before, after)


TIMEOUT = record(300, change("properties.configuration.replicaTimeout", 1800, 300))
MAX_EXECUTIONS = record(200, change("properties.configuration.eventTriggerConfig.scale.maxExecutions", 20, 2))
QUEUE_NAME = record(150, change(f"{RULES}[name=queue-rule].metadata.queueName", "orders", "orders-v2"))
IMAGE = record(10, change("properties.template.containers[name=worker].image", "acr.io/orders:1.4.2",
                          "acr.io/orders:1.5.0"))
MEMORY = record(100, change("properties.template.containers[name=worker].resources.memory", "2Gi", "1Gi"))
ENV_VALUE = record(50, change("properties.template.containers[name=worker].env[name=DB_HOST].value", VALUE_CHANGED,
                              VALUE_CHANGED))
IDENTITY = record(120, change(f"identity.userAssignedIdentities['{UAMI}']", {"principalId": PRINCIPAL}, None))
ROLE = record(130, change("properties.roleDefinitionId",
                          f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6",
                          None),
              change("properties.principalId", PRINCIPAL, None),
              resource_id=f"{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/providers/"
                          "Microsoft.Authorization/roleAssignments/9d1f", operation="Delete")
PROFILE = record(140, change("properties.workloadProfiles[name=D16-batch].maximumCount", 10, 3), resource_id=ENV)
KEYS = record(160, resource_id=f"{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st",
              operation="MICROSOFT.STORAGE/STORAGEACCOUNTS/REGENERATEKEY/ACTION")
ALL = [TIMEOUT, MAX_EXECUTIONS, QUEUE_NAME, IMAGE, MEMORY, ENV_VALUE, IDENTITY, ROLE, PROFILE, KEYS]


@pytest.mark.parametrize(("cause", "first"), [
    ("timeout", TIMEOUT), ("saturation", MAX_EXECUTIONS), ("scaler-failure", QUEUE_NAME),
    ("identity", IDENTITY), ("capacity", PROFILE), ("image-pull", IMAGE), ("oom", MEMORY), ("app-error", IMAGE),
])
def test_the_change_that_explains_the_failure_comes_first_not_the_latest(cause: str, first: ChangeRecord) -> None:
    ranked = rank(cause, ALL)
    assert ranked[0] == first
    assert sorted(map(id, ranked)) == sorted(map(id, ALL))  # every change is listed


def test_within_a_cause_the_newest_comes_first_and_the_rest_newest_first() -> None:
    ranked = rank("scaler-failure", ALL)
    assert ranked[:2] == [QUEUE_NAME, KEYS]  # both explain it; the queue rename is newer
    assert ranked[2:] == sorted(ranked[2:], key=lambda r: 0 if explains("scaler-failure", r) else 1)
    ranked = rank("identity", ALL)
    assert ranked[:2] == [IDENTITY, ROLE]
    assert rank("app-error", ALL)[:2] == [IMAGE, ENV_VALUE]
    assert rank("oom", ALL)[:2] == [MEMORY, IMAGE]  # a memory cut explains an OOM better than a new image


def test_ties_go_newest_first_then_by_path() -> None:
    same_time = [record(5, change("properties.template.containers[name=b].image", "x:1", "x:2")),
                 record(5, change("properties.template.containers[name=a].image", "y:1", "y:2")),
                 record(1, change("properties.template.containers[name=c].image", "z:1", "z:2"))]
    assert [r.changes[0].path.split("=")[1][0] for r in rank("image-pull", same_time)] == ["c", "a", "b"]


def test_a_cause_without_change_kinds_lists_changes_newest_first() -> None:
    assert rank("dependency", ALL) == sorted(ALL, key=lambda r: -r.time.timestamp())  # type: ignore[union-attr]
    assert rank("platform", []) == []
    assert set(CAUSE_TAGS) >= {"timeout", "saturation", "scaler-failure", "identity", "capacity", "image-pull",
                               "oom", "app-error"}


@pytest.mark.parametrize(("item", "line"), [
    (TIMEOUT, "replicaTimeout 1800 → 300"),
    (MAX_EXECUTIONS, "maxExecutions 20 → 2"),
    (QUEUE_NAME, "scale rule queue-rule queueName orders → orders-v2"),
    (IDENTITY, "user-assigned identity id-tax-docs removed"),
    (PROFILE, "environment env workload profile D16-batch maximumCount 10 → 3"),
    (IMAGE, "image acr.io/orders:1.4.2 → acr.io/orders:1.5.0"),
    (MEMORY, "memory 2Gi → 1Gi"),
    (ENV_VALUE, "env DB_HOST value changed"),
    (KEYS, "keys of storage account st regenerated"),
])
def test_the_one_line_names_the_property_before_and_after(item: ChangeRecord, line: str) -> None:
    assert summarise(item) == line


def test_a_role_assignment_names_the_role_and_whether_it_was_the_jobs_identity() -> None:
    assert summarise(ROLE, job_principals=[PRINCIPAL]) == (
        "role assignment Key Vault Secrets User of the job's identity deleted")
    custom = record(1, change("properties.roleDefinitionId", "/providers/x/roleDefinitions/abc", None),
                    resource_id=ROLE.resource_id, operation="Delete")
    assert summarise(custom, role_names={"abc": "Queue Poker"}) == "role assignment Queue Poker deleted"
    assert summarise(record(1, resource_id=ROLE.resource_id, operation="Delete")) == "role assignment 9d1f deleted"


def test_summaries_of_real_recorded_bodies() -> None:
    env = json.loads((RECORDED / "environment.json").read_text())
    smaller = copy.deepcopy(env)
    smaller["properties"]["workloadProfiles"][1]["maximumCount"] = 3
    assert summarise(record(1, *diff_json(env, smaller), resource_id=env["id"])) == (
        "environment env-eastus workload profile wpname maximumCount 8 → 3")
    job = json.loads((RECORDED / "event_job.json").read_text())
    renamed = copy.deepcopy(job)
    renamed["properties"]["configuration"]["eventTriggerConfig"]["scale"]["rules"][0]["metadata"]["queueName"] = "q2"
    renamed["properties"]["configuration"]["replicaTimeout"] = 30
    line = summarise(record(1, *diff_json(job, renamed), resource_id=job["id"]))
    assert line == "replicaTimeout 60 → 30 (+1 more)"
    both = record(2, *diff_json(job, renamed), resource_id=job["id"])
    assert rank("scaler-failure", [TIMEOUT, both]) == [both, TIMEOUT]  # it renamed the queue too


def test_no_secret_value_in_a_summary_even_if_a_source_forgot_to_hide_it() -> None:
    leaky = record(1, change("properties.configuration.secrets[name=db].value", "hunter2", "hunter3"))
    assert summarise(leaky) == "secret db value changed"
    added = record(1, change("properties.configuration.secrets[name=db]", None, {"name": "db", "value": VALUE_CHANGED}))
    assert summarise(added) == "secret db added"
    assert "hunter" not in summarise(record(1, change("properties.sasToken", "hunter2", None)))


def test_writes_without_properties_and_unknown_resources() -> None:
    assert summarise(record(1, operation="MICROSOFT.APP/JOBS/WRITE")) == (
        "job orders written (which properties changed is not recorded)")
    queue = f"{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st/queueServices/default/queues/q"
    assert summarise(record(1, resource_id=queue, operation="Delete")) == "storage queue q deleted"
    assert summarise(record(1, operation="MICROSOFT.APP/JOBS/SUSPEND/ACTION")) == "job orders suspended by hand"
    long = record(1, change("tags.note", "x" * 100, "y"))
    assert summarise(long) == f"note {'x' * 59}… → y"


def test_changes_made_after_the_trouble_began_come_last() -> None:
    ranked = rank("image-pull", ALL, trouble_began=NOW - timedelta(minutes=30))
    # The image change (10 minutes ago) came after the trouble: listed, but last; the identity removal
    # (a pull with the job's identity) is the best explanation left.
    assert (ranked[0], ranked[-1], len(ranked)) == (IDENTITY, IMAGE, len(ALL))
    assert rank("image-pull", ALL)[0] == IMAGE


def test_summarised_rewrites_what_with_the_jobs_principals() -> None:
    [again] = summarised([ROLE], job_principals=[PRINCIPAL])
    assert again.what == "role assignment Key Vault Secrets User of the job's identity deleted"
    assert again.changes == ROLE.changes


def test_a_path_no_parser_reads_is_shown_as_it_is_and_never_raises() -> None:
    odd = record(1, change("properties.rules[0", "a", "b"), change("x['unclosed", None, 1))
    assert summarise(odd) == "properties.rules[0 value changed (+1 more)"
    role = record(1, change("properties.roleDefinitionId[", "r", None), resource_id=ROLE.resource_id,
                  operation="Create")
    assert summarise(role) == "role assignment 9d1f created"


def test_a_put_without_the_user_assigned_identities_names_the_one_removed() -> None:
    # A full PUT body without the user-assigned identity: the diff removes the whole map and changes the type.
    whole = record(30, change("identity.type", "SystemAssigned,UserAssigned", "SystemAssigned"),
                   change("identity.userAssignedIdentities", {UAMI: {}}, None))
    assert summarise(whole) == "user-assigned identity id-tax-docs removed"
    other = f"{UAMI.rsplit('/', 1)[0]}/id-other"
    shrunk = record(30, change("identity.userAssignedIdentities", {UAMI: {}, other: {}}, {other: {}}),
                    change("properties.configuration.replicaTimeout", 1800, 300))
    assert summarise(shrunk) == "user-assigned identity id-tax-docs removed (+1 more)"
    assert explains("identity", whole) and explains("identity", shrunk)


def test_a_patch_setting_a_whole_list_names_its_items() -> None:
    rules = [{"name": "labels-queue", "type": "azure-queue", "metadata": {"queueName": "labels"}}]
    patch = record(30, change("properties.configuration.eventTriggerConfig.scale.rules", NOT_RECORDED, rules))
    assert summarise(patch) == "scale rule labels-queue set"
    two = record(30, change("properties.configuration.eventTriggerConfig.scale.rules", NOT_RECORDED,
                            [*rules, {"name": "retry-queue"}]))
    assert summarise(two) == "scale rules labels-queue, retry-queue set"
