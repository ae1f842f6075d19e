"""Which change the verdict names: the one that explains the failure mode, then the rest, most likely first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.evidence.change_evidence import as_suspected, change_records, relevant, with_evidence
from bot.evidence.change_records import CallerKind, ChangeRecord, ChangeSource, PropertyChange, ResourceKind
from bot.evidence.change_revert import restored_by_image_rollback, revert_commands_for
from bot.evidence.payloads import ConfigChangesEvidence, SuspectedChange
from bot.model import Cause, Container
from bot.verdict.change_choice import ALSO_SHOWN, suspected_for
from tests.fakes import make_job

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
TROUBLE = NOW - timedelta(minutes=30)
JOB = make_job(dependencies=("kv-orders", "0f1e2d3c-4b5a-6978-8899-aabbccddeeff"))
JOB_ID = JOB.ref.id
VAULT = "/subscriptions/sub-1/resourceGroups/rg-orders/providers/Microsoft.KeyVault/vaults/kv-orders"


def record(minutes_ago: int, *changes: tuple[str, object, object], resource: str = JOB_ID,
           kind: ResourceKind = ResourceKind.JOB, operation: str = "MICROSOFT.APP/JOBS/WRITE",
           caller: str = "dev@contoso.com", what: str = "") -> ChangeRecord:
    return ChangeRecord(NOW - timedelta(minutes=minutes_ago), resource, kind, operation, caller, CallerKind.PERSON,
                        ChangeSource.ACTIVITY_LOG, tuple(PropertyChange(p, b, a) for p, b, a in changes),
                        what=what or (changes[0][0] if changes else operation))


TIMEOUT = record(60, ("properties.configuration.replicaTimeout", 1800, 300), what="replicaTimeout 1800 → 300")
IMAGE = record(40, ("properties.template.containers[name=worker].image", "orders:1.4", "orders:1.5"),
               what="image orders:1.4 → orders:1.5")
DEFAULT = SuspectedChange(IMAGE.time, IMAGE.caller, IMAGE.operation, "image orders:1.4 -> orders:1.5",
                          IMAGE.changes, ChangeSource.ACTIVITY_LOG)


def evidence(*records: ChangeRecord, default: SuspectedChange | None = DEFAULT) -> ConfigChangesEvidence:
    return ConfigChangesEvidence((), (), None, default, records, TROUBLE)


def test_the_change_that_explains_the_failure_wins_over_a_newer_one() -> None:
    chosen = suspected_for(Cause.TIMEOUT, evidence(IMAGE, TIMEOUT))
    assert chosen is not None
    assert (chosen.what, chosen.source, chosen.resource) == ("replicaTimeout 1800 → 300", ChangeSource.ACTIVITY_LOG,
                                                            None)
    assert chosen.changes == TIMEOUT.changes
    assert [a.what for a in chosen.also] == ["image orders:1.4 → orders:1.5"]


def test_with_nothing_that_explains_it_the_change_checks_own_choice_stands_and_others_follow() -> None:
    chosen = suspected_for(Cause.STUCK_EXECUTION, evidence(IMAGE, TIMEOUT))
    assert chosen is not None
    assert chosen.what == DEFAULT.what  # the check's words, not re-summarised
    assert [a.what for a in chosen.also] == ["replicaTimeout 1800 → 300"]  # the default is not listed twice


def test_no_records_and_no_default_means_no_suspect() -> None:
    assert suspected_for(Cause.TIMEOUT, evidence(default=None)) is None
    only = suspected_for(Cause.TIMEOUT, evidence())
    assert only is not None and only.also == ()


def test_changes_after_the_trouble_began_are_never_named_or_listed() -> None:
    late = record(5, ("properties.configuration.replicaTimeout", 300, 3600), what="replicaTimeout 300 → 3600")
    chosen = suspected_for(Cause.TIMEOUT, evidence(late, TIMEOUT))
    assert chosen is not None and chosen.what == "replicaTimeout 1800 → 300"
    assert chosen.also == ()


def test_at_most_five_other_changes_are_listed() -> None:
    many = [record(100 + i, ("properties.configuration.pollingInterval", i, i + 1)) for i in range(9)]
    chosen = suspected_for(Cause.TIMEOUT, evidence(TIMEOUT, *many))
    assert chosen is not None and len(chosen.also) == ALSO_SHOWN == 5


def test_a_dependency_change_is_named_with_the_resource_it_changed() -> None:
    removed = record(45, ("properties.principalId", "0f1e2d3c-4b5a-6978-8899-aabbccddeeff", None),
                     resource=VAULT + "/providers/Microsoft.Authorization/roleAssignments/1",
                     kind=ResourceKind.ROLE_ASSIGNMENT, operation="MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/DELETE",
                     what="role assignment Key Vault Secrets User of the job's identity deleted")
    chosen = suspected_for(Cause.IDENTITY, evidence(IMAGE, removed))
    assert chosen is not None and chosen.resource == removed.resource_id
    assert not restored_by_image_rollback(chosen)


def test_records_elsewhere_are_not_evidence_about_this_job() -> None:
    other_vault = record(45, ("properties.x", 1, 2), resource=VAULT.replace("kv-orders", "kv-payments"),
                         kind=ResourceKind.KEY_VAULT)
    assert not relevant(JOB, other_vault)
    assert relevant(JOB, record(45, ("properties.x", 1, 2), resource=VAULT, kind=ResourceKind.KEY_VAULT))
    assert relevant(JOB, record(45, ("properties.x", 1, 2), resource=JOB.environment_id,
                                kind=ResourceKind.ENVIRONMENT))
    principal = record(45, ("properties.principalId", "0F1E2D3C-4B5A-6978-8899-AABBCCDDEEFF", None),
                       resource="/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/2",
                       kind=ResourceKind.ROLE_ASSIGNMENT)
    assert relevant(JOB, principal)


def test_the_same_write_seen_twice_keeps_the_source_that_knows_the_before() -> None:
    write_at = NOW - timedelta(minutes=40)
    body = '{"requestbody": "{\\"properties\\": {\\"template\\": {\\"containers\\": [{\\"name\\": \\"worker\\", ' \
           '\\"image\\": \\"orders:1.5\\"}]}}}"}'
    rows = [{"TimeGenerated": write_at, "CategoryValue": "Administrative",
             "OperationNameValue": "MICROSOFT.APP/JOBS/WRITE", "ActivityStatusValue": "Succeeded",
             "Caller": "dev@contoso.com", "ResourceId": JOB_ID,
             "CorrelationId": "c1", "Properties": body}]
    records = change_records(JOB, rows, last_good=(Container("worker", "orders:1.4", 0.5, "1Gi"),),
                             reference=(Container("worker", "orders:1.5", 0.5, "1Gi"),), changed_at=write_at,
                             changed_by="dev@contoso.com")
    assert len(records) == 1
    assert records[0].source is ChangeSource.EXECUTIONS
    assert [(c.before, c.after) for c in records[0].changes] == [("orders:1.4", "orders:1.5")]


def test_the_checks_own_choice_gets_the_property_changes_behind_it() -> None:
    found = SuspectedChange(IMAGE.time, IMAGE.caller, IMAGE.operation, "image orders:1.4 -> orders:1.5")
    enriched = with_evidence(found, (IMAGE, TIMEOUT), JOB_ID)
    assert (enriched.what, enriched.changes, enriched.source) == (found.what, IMAGE.changes,
                                                                  ChangeSource.ACTIVITY_LOG)
    unknown = with_evidence(SuspectedChange(None, None, None, "image a -> b"), (), JOB_ID)
    assert unknown.source is ChangeSource.EXECUTIONS and unknown.changes == ()


def test_a_property_outside_the_template_is_reverted_by_command_not_by_an_image_rollback() -> None:
    change = as_suspected(TIMEOUT, JOB_ID)
    assert not restored_by_image_rollback(change)
    commands = revert_commands_for(change, JOB_ID)
    assert commands == ("az containerapp job update --name orders-processor --resource-group rg-orders "
                        "--replica-timeout 1800",)
    image = as_suspected(IMAGE, JOB_ID)
    assert restored_by_image_rollback(image) and revert_commands_for(image, JOB_ID) == ()
