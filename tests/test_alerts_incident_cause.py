"""An incident's likely shared cause (pure): the change of the shared resource its jobs' triages agree on,
named in the parent with what, when and who — from the stored reports, through the report store's codec."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.alerts.render import facts_of, parent_message
from bot.alerts.schema import parse_alert
from bot.alerts.shared_cause import names_resource, shared_cause
from bot.alerts.thread import (
    IncidentFacts,
    Routing,
    apply_alert,
    finish_member_triage,
    member_triage,
    open_incident,
)
from bot.evidence.change_records import CallerKind, ChangeSource
from bot.evidence.payloads import SuspectedChange
from bot.model import Cause, Confidence, JobRef, TriageReport, Verdict, Window
from bot.respond.report_store import report_from_store, report_to_store
from bot.slack.limits import check_blocks
from tests.fixtures.alerts.payloads import job_id, metric_alert

T0 = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)
SUB = "/subscriptions/0d2f4a6c-8e1b-4c53-9a7d-5f1b3d5e7a9c/resourcegroups"
REGISTRY_ID = f"{SUB}/rg-shared/providers/microsoft.containerregistry/registries/acrshared"
VAULT_ID = f"{SUB}/rg-shared/providers/microsoft.keyvault/vaults/kv-orders"
ROTATED = SuspectedChange(T0 - timedelta(minutes=50), "ops@contoso.com",
                          "MICROSOFT.CONTAINERREGISTRY/REGISTRIES/REGENERATECREDENTIAL/ACTION",
                          "registry acrshared credentials regenerated", source=ChangeSource.ACTIVITY_LOG,
                          resource=REGISTRY_ID, caller_kind=CallerKind.PERSON)
VAULT_RULE = SuspectedChange(T0 - timedelta(minutes=20), "net@contoso.com", "MICROSOFT.KEYVAULT/VAULTS/WRITE",
                             "Key Vault kv-orders network rule changed", source=ChangeSource.RESOURCE_GRAPH,
                             resource=VAULT_ID)


def report(job: str, change: SuspectedChange | None, cause: Cause = Cause.IMAGE_PULL) -> TriageReport:
    ref = JobRef(job, "rg-reports", "s", job_id(job, "rg-reports"))
    verdict = Verdict(cause, Confidence.HIGH, f"{job} cannot pull its image", suspected_change=change)
    stored = report_to_store(TriageReport(ref, Window(T0 - timedelta(hours=1), T0), verdict, ()))
    return report_from_store(json.loads(json.dumps(stored)))  # as the parent reads it back, late


def test_the_registry_change_every_jobs_triage_found_is_the_shared_cause() -> None:
    reports = {f"report-{i:02d}": report(f"report-{i:02d}", ROTATED) for i in range(12)}
    cause = shared_cause("registry", "acrshared.azurecr.io", reports)
    assert cause is not None and cause.of_shared
    assert cause.what == "registry acrshared credentials regenerated" and cause.caller == "ops@contoso.com"
    assert cause.time == ROTATED.time and cause.resource == REGISTRY_ID and len(cause.jobs) == 12


def test_a_change_only_one_job_found_is_no_shared_cause_and_the_shared_resource_wins_over_a_common_other() -> None:
    assert shared_cause("registry", "acrshared.azurecr.io",
                        {"a": report("a", ROTATED), "b": report("b", None), "c": report("c", VAULT_RULE)}) is None
    # Three jobs saw the vault rule (listed as the likelier change), two the registry rotation: the incident
    # is about the registry, so its change is the one named; about the environment, the commonest is.
    vault_first = SuspectedChange(VAULT_RULE.time, VAULT_RULE.caller, VAULT_RULE.operation, VAULT_RULE.what,
                                  resource=VAULT_ID, also=(ROTATED,))
    reports = {"a": report("a", vault_first), "b": report("b", vault_first), "c": report("c", VAULT_RULE)}
    on_registry = shared_cause("registry", "acrshared.azurecr.io", reports)
    assert on_registry is not None and on_registry.resource == REGISTRY_ID and on_registry.jobs == ("a", "b")
    environment = f"{SUB}/rg-reports/providers/microsoft.app/managedenvironments/cae-reports"
    on_environment = shared_cause("environment", environment, reports)
    assert on_environment is not None and on_environment.resource == VAULT_ID and not on_environment.of_shared
    assert len(on_environment.jobs) == 3


def test_a_change_of_the_job_itself_is_never_the_shared_cause() -> None:
    own = SuspectedChange(T0, "deployer@contoso.com", "MICROSOFT.APP/JOBS/WRITE", "image 1.4 -> 1.5")
    assert shared_cause("registry", "acrshared.azurecr.io", {"a": report("a", own), "b": report("b", own)}) is None
    # Named with its id (as a Resource Graph change is), the same job write found by two triages is still
    # no dependency of theirs.
    named = SuspectedChange(T0, "deployer@contoso.com", "MICROSOFT.APP/JOBS/WRITE", "image 1.4 -> 1.5",
                            resource=job_id("a", "rg-reports").lower())
    assert shared_cause("registry", "acrshared.azurecr.io", {"a": report("a", named), "b": report("b", named)}) is None


def test_resources_are_matched_by_their_name_in_the_changed_id() -> None:
    assert names_resource(REGISTRY_ID, "registry", "acrshared.azurecr.io")
    assert not names_resource(REGISTRY_ID, "registry", "acrshared2.azurecr.io")
    assignment = f"{VAULT_ID}/providers/microsoft.authorization/roleassignments/9f1c"
    assert names_resource(assignment, "key vault", "kv-orders")
    # A resource group named like the vault is not the vault.
    assert not names_resource(f"{SUB}/kv-orders/providers/microsoft.keyvault/vaults/kv-other", "key vault", "kv-orders")
    environment = f"{SUB}/rg-reports/providers/microsoft.app/managedenvironments/cae-reports"
    assert names_resource(environment + "/certificates/c1", "environment", environment)
    assert not names_resource(environment + "-2", "environment", environment)


def test_the_incident_parent_names_the_shared_cause_once_the_triages_are_in() -> None:
    jobs = tuple(f"report-{i:02d}" for i in range(12))
    facts = IncidentFacts("registry", "acrshared.azurecr.io", jobs, "<!subteam^S0PLATFORM>")
    first = parse_alert(metric_alert("alert-00", "failed-executions", job_id(jobs[0])))
    incident = open_incident("incident:1", facts_of(first), facts,
                             Routing(channel="C0ALERTS", channel_source="default", primary=facts.owner), T0)
    for i, job in enumerate(jobs):
        alert = parse_alert(metric_alert(f"alert-{i:02d}", "failed-executions", job_id(job)))
        incident = apply_alert(incident, alert, T0, job=job).thread
    waiting = parent_message(incident, triaged=0)
    assert "looking for a change of the registry acrshared.azurecr.io" in json.dumps(waiting.blocks)

    view = incident.view
    incident = finish_member_triage(incident, member_triage("alert-00"))
    assert incident.view == view + 1  # the parent owes a refresh to show what the triages say now
    cause = shared_cause("registry", "acrshared.azurecr.io", {job: report(job, ROTATED) for job in jobs})
    message = parent_message(incident, cause=cause, triaged=12)
    shown = json.dumps(message.blocks)
    assert "*Shared cause:* registry acrshared credentials regenerated" in shown
    assert "by ops@contoso.com" in shown and "08:10 UTC" in shown and "12 of 12 jobs" in shown
    assert "shared cause: registry acrshared credentials regenerated 08:10 UTC by ops@contoso.com" in message.text
    assert all(f"*{job}*" in shown for job in jobs)
    assert check_blocks(message.blocks) == []


def test_with_every_triage_in_and_nothing_shared_the_parent_says_so() -> None:
    facts = IncidentFacts("registry", "acrshared.azurecr.io", ("a",), None)
    alert = parse_alert(metric_alert("alert-a", "failed-executions", job_id("a")))
    incident = open_incident("incident:2", facts_of(alert), facts, Routing(channel="C0", channel_source="default"), T0)
    incident = apply_alert(incident, alert, T0, job="a").thread
    incident = finish_member_triage(incident, member_triage("alert-a"))
    assert "no change common to these jobs" in json.dumps(parent_message(incident, triaged=1).blocks)
