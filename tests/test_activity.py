"""What changed, from the Activity Log and execution templates: the change a responder is pointed at.

`suspect` names one change; these tests pin which one wins when several happened, what the one line says,
and that the change must come before the trouble.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.evidence.activity import (
    ActivityEvent,
    container_diff,
    is_job_definition_change,
    job_write_before,
    parse_activity,
    suspect,
)
from bot.model import Container, SuspectedChange
from tests.fakes import make_job

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
TROUBLE = NOW - timedelta(minutes=50)
JOB = make_job(dependencies=("kv-orders", "stordersprod", "0f1e2d3c-4b5a-6978-8899-aabbccddeeff"))
JOB_ID = JOB.ref.id
VAULT = "/subscriptions/sub-1/resourceGroups/rg-orders/providers/Microsoft.KeyVault/vaults/kv-orders"
ROLE = VAULT + "/providers/Microsoft.Authorization/roleAssignments/1111"


def event(minutes_ago: int, operation: str, resource: str = JOB_ID, *, status: str = "Succeeded",
          caller: str | None = "deployer@contoso.com", category: str = "Administrative",
          properties: str = "") -> ActivityEvent:
    # Built the way the product builds it: from a row as config_changes.kql projects it.
    [built] = parse_activity([row(minutes_ago, CategoryValue=category, OperationNameValue=operation,
                                  ActivityStatusValue=status, Caller=caller, ResourceId=resource,
                                  Properties=properties)])
    return built


def row(minutes_ago: int | None, **values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"TimeGenerated": None if minutes_ago is None else NOW - timedelta(minutes=minutes_ago)}
    base.update(values)
    return base


# --- parsing ---------------------------------------------------------------------------------------------


def test_activity_rows_become_events_newest_first_and_rows_without_a_time_are_dropped() -> None:
    events = parse_activity([
        row(90, CategoryValue="Administrative", OperationNameValue="MICROSOFT.APP/JOBS/WRITE",
            ActivityStatusValue="Succeeded", Caller="a@contoso.com", ResourceId=JOB_ID, CorrelationId="c1",
            Properties='{"x": 1}'),
        row(None, OperationNameValue="MICROSOFT.APP/JOBS/WRITE"),
        row(10, OperationNameValue="MICROSOFT.APP/JOBS/STOP/ACTION", ActivityStatusValue="Success", Caller=""),
    ])
    assert [(e.operation, e.caller) for e in events] == [("MICROSOFT.APP/JOBS/STOP/ACTION", None),
                                                         ("MICROSOFT.APP/JOBS/WRITE", "a@contoso.com")]
    oldest = events[1]
    assert (oldest.category, oldest.status, oldest.resource_id, oldest.correlation_id, oldest.properties_text) == (
        "Administrative", "Succeeded", JOB_ID, "c1", '{"x": 1}')
    assert oldest.properties == {"x": 1}  # parsed once, where the row is read
    newest = events[0]
    assert (newest.category, newest.resource_id, newest.correlation_id, newest.properties, newest.properties_text) \
        == ("", "", None, {}, "")
    assert newest.succeeded and newest.is_lifecycle and not newest.is_job_write


def test_event_kinds() -> None:
    assert event(1, "microsoft.app/jobs/write").is_job_write
    assert not event(1, "MICROSOFT.APP/JOBS/WRITE", status="Failed").succeeded
    assert event(1, "Microsoft.Authorization/roleAssignments/delete").is_identity_change
    assert event(1, "MICROSOFT.KEYVAULT/VAULTS/ACCESSPOLICIES/WRITE").is_identity_change
    assert event(1, "MICROSOFT.KEYVAULT/VAULTS/WRITE").is_identity_change
    assert not event(1, "MICROSOFT.STORAGE/STORAGEACCOUNTS/WRITE").is_identity_change
    assert [event(1, f"MICROSOFT.APP/JOBS/{a}/ACTION").is_lifecycle for a in ("START", "STOP", "SUSPEND", "RESUME")] \
        == [True] * 4
    assert not event(1, "MICROSOFT.APP/JOBS/WRITE").is_lifecycle


# --- template diffs --------------------------------------------------------------------------------------


def worker(image: str = "orders:1.4.2", cpu: float | None = 0.5, memory: str | None = "1Gi",
           env: tuple[str, ...] = (), name: str = "worker") -> Container:
    return Container(name, image, cpu, memory, env)


def test_container_diff_names_image_memory_cpu_and_env_names_only() -> None:
    before = [worker(env=("A", "B"))]
    after = [worker("orders:1.5.0", 1.0, "2Gi", ("B", "C", "D"))]
    assert container_diff(before, after) == [
        "image orders:1.4.2 → orders:1.5.0", "memory 1Gi → 2Gi", "cpu 0.5 → 1", "env added C, D", "env removed A",
    ]
    assert container_diff(before, before) == []


def test_container_diff_says_nothing_about_what_one_side_does_not_record() -> None:
    assert container_diff([worker(memory=None, cpu=None)], [worker(memory="2Gi", cpu=1.0)]) == []
    assert container_diff([worker(env=("A",))], [worker(env=())]) == []


def test_container_diff_with_several_containers_prefixes_each_line_and_sees_added_and_removed() -> None:
    before = [worker(), worker("sidecar:1", name="sidecar")]
    after = [worker("orders:1.5.0"), worker("logger:2", name="logger")]
    assert container_diff(before, after) == ["container logger added", "container sidecar removed",
                                             "worker: image orders:1.4.2 → orders:1.5.0"]


# --- the write before the trouble ------------------------------------------------------------------------


def test_job_write_before_is_the_newest_successful_write_of_this_job_not_after_the_moment() -> None:
    events = [event(5, "MICROSOFT.APP/JOBS/WRITE"), event(55, "MICROSOFT.APP/JOBS/WRITE", status="Failed"),
              event(60, "MICROSOFT.APP/JOBS/WRITE", JOB_ID.upper()), event(70, "MICROSOFT.APP/JOBS/WRITE"),
              event(40, "MICROSOFT.APP/JOBS/WRITE", JOB_ID.replace("orders-processor", "other"))]
    events.sort(key=lambda e: e.time, reverse=True)
    assert job_write_before(JOB, events, TROUBLE) == events[3]  # 60 min ago, matched case-insensitively
    assert job_write_before(JOB, events, None) == events[0]
    assert job_write_before(JOB, events, NOW - timedelta(minutes=60)) == events[3]  # at the moment counts
    assert job_write_before(JOB, [], TROUBLE) is None


# --- which change is suspected ---------------------------------------------------------------------------


def sus(events: list[ActivityEvent], diff: tuple[str, ...] = (), trouble: datetime | None = TROUBLE,
        job: Any = JOB) -> SuspectedChange | None:
    return suspect(job, sorted(events, key=lambda e: e.time, reverse=True), list(diff), trouble)


def test_a_write_of_the_job_wins_and_says_what_the_templates_show() -> None:
    change = sus([event(60, "MICROSOFT.APP/JOBS/WRITE"), event(55, "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/DELETE",
                                                               ROLE)],
                 ("image orders:1.4.2 → orders:1.5.0", "memory 1Gi → 2Gi"))
    assert change == SuspectedChange(NOW - timedelta(minutes=60), "deployer@contoso.com", "MICROSOFT.APP/JOBS/WRITE",
                                     "image orders:1.4.2 → orders:1.5.0; memory 1Gi → 2Gi")


def test_the_newest_write_before_the_trouble_is_blamed_not_the_oldest() -> None:
    change = sus([event(200, "MICROSOFT.APP/JOBS/WRITE", caller="old@contoso.com"),
                  event(60, "MICROSOFT.APP/JOBS/WRITE", caller="new@contoso.com"),
                  event(10, "MICROSOFT.APP/JOBS/WRITE", caller="after@contoso.com")])
    assert change is not None and change.caller == "new@contoso.com"


def test_a_write_without_a_template_diff_says_where_to_look() -> None:
    change = sus([event(60, "MICROSOFT.APP/JOBS/WRITE")])
    assert change is not None
    assert change.what.startswith("job configuration changed (scale rules, secrets and timeouts are not recorded")


def test_a_role_assignment_removed_on_a_dependency_names_the_vault_and_the_identity() -> None:
    removed = event(55, "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/DELETE", ROLE, caller="iam@contoso.com",
                    properties='{"principalId": "0f1e2d3c-4b5a-6978-8899-aabbccddeeff"}')
    change = sus([removed, event(58, "MICROSOFT.STORAGE/STORAGEACCOUNTS/REGENERATEKEY/ACTION",
                                 "/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/"
                                 "stordersprod")])
    assert change == SuspectedChange(removed.time, "iam@contoso.com", removed.operation,
                                     "role assignment removed on vaults/kv-orders for the job's managed identity")
    written = event(55, "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE", ROLE)
    assert sus([written]) == SuspectedChange(written.time, written.caller, written.operation,
                                             "role assignment changed on vaults/kv-orders")


def test_a_change_to_something_the_job_depends_on_names_what_was_done_and_where() -> None:
    account = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/stordersprod"
    rotated = event(58, "MICROSOFT.STORAGE/STORAGEACCOUNTS/REGENERATEKEY/ACTION", account)
    change = sus([rotated, event(70, "MICROSOFT.APP/JOBS/STOP/ACTION")])
    assert change == SuspectedChange(rotated.time, rotated.caller, rotated.operation,
                                     "regeneratekey on storageAccounts/stordersprod, which the job depends on")
    written = event(58, "MICROSOFT.STORAGE/STORAGEACCOUNTS/WRITE", account)
    assert sus([written]) is not None and sus([written]).what.startswith("write on storageAccounts/stordersprod")  # type: ignore[union-attr]


def test_changes_elsewhere_or_not_administrative_or_failed_are_not_suspects() -> None:
    elsewhere = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/stother"
    assert sus([event(58, "MICROSOFT.STORAGE/STORAGEACCOUNTS/REGENERATEKEY/ACTION", elsewhere)]) is None
    account = elsewhere.replace("stother", "stordersprod")
    assert sus([event(58, "MICROSOFT.STORAGE/STORAGEACCOUNTS/WRITE", account, category="Policy")]) is None
    assert sus([event(58, "MICROSOFT.STORAGE/STORAGEACCOUNTS/WRITE", account, status="Failed")]) is None
    # The job's own environment is not "something it depends on" for this rule.
    assert sus([event(58, "MICROSOFT.APP/MANAGEDENVIRONMENTS/WRITE", JOB.environment_id)]) is None


def test_a_manual_stop_is_suspected_last_and_says_scaling_can_stop() -> None:
    stop = event(70, "MICROSOFT.APP/JOBS/STOP/ACTION", caller="ops@contoso.com")
    change = sus([stop])
    assert change == SuspectedChange(stop.time, "ops@contoso.com", stop.operation,
                                     "job started/stopped/suspended/resumed by hand: event scaling can stop silently "
                                     "after this")


def test_changes_after_the_trouble_began_are_not_suspects() -> None:
    assert sus([event(10, "MICROSOFT.APP/JOBS/WRITE"), event(5, "MICROSOFT.APP/JOBS/STOP/ACTION")]) is None
    # With no trouble seen, any change counts.
    assert sus([event(10, "MICROSOFT.APP/JOBS/WRITE")], trouble=None) is not None


def test_a_template_diff_without_an_activity_event_falls_back_to_the_jobs_last_modification() -> None:
    job = make_job(last_modified_by="pipeline-app", last_modified_at=NOW - timedelta(minutes=65))
    assert sus([], ("image a -> b",), job=job) == SuspectedChange(
        NOW - timedelta(minutes=65), "pipeline-app", "MICROSOFT.APP/JOBS/WRITE", "image a -> b")
    late = make_job(last_modified_by="x", last_modified_at=NOW - timedelta(minutes=5))
    assert sus([], ("image a -> b",), job=late) == SuspectedChange(None, None, None, "image a -> b")
    assert sus([], ("image a -> b",), job=job, trouble=None) is not None
    # Written shortly before the trouble with nothing recorded of what changed: named, and where to look.
    unrecorded = sus([], (), job=job)
    assert unrecorded is not None and unrecorded.caller == "pipeline-app"
    assert unrecorded.what.startswith("job configuration changed (") and "infrastructure-as-code" in unrecorded.what
    older = make_job(last_modified_by="x", last_modified_at=TROUBLE - timedelta(hours=25))
    assert sus([], (), job=older) is None
    assert sus([], (), job=job, trouble=None) is None


def test_only_changes_to_the_jobs_own_definition_can_be_rolled_back() -> None:
    assert is_job_definition_change(SuspectedChange(None, None, None, "image a -> b"))
    assert is_job_definition_change(SuspectedChange(None, None, "microsoft.app/jobs/write", "x"))
    assert not is_job_definition_change(SuspectedChange(None, None, "MICROSOFT.APP/JOBS/STOP/ACTION", "x"))
