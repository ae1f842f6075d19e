"""Checklists for configuration-only and access changes (issue 10), and the checklist's shape on every bundled
incident (issue 17 item 9): the decision first, the command no later than the fourth open step, the revert
verified by the bot re-reading Azure (the local emulator, switched to the reverted world mid-test)."""

from __future__ import annotations

import asyncio
import copy
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.assets import bundled_scenarios
from bot.azure.wiring import azure_readers
from bot.checklists.model import Checklist, FindingState, Refused, Revert, StepKind, mark_done
from bot.checklists.plan import PlanFacts, build_checklist, rollback_refusal
from bot.checklists.render import render_checklist
from bot.checklists.reverts import is_back, value_at
from bot.checklists.service import queue_facts
from bot.checklists.verify import access_finding, config_finding, verify
from bot.config import Config
from bot.evidence.change_records import ChangeSource, PropertyChange
from bot.intake import DEFAULT_SINCE, parse_job
from bot.model import Cause, Confidence, Owners, SuspectedChange, Verdict
from bot.scenario_mode import ScenarioWorld, scenario_world
from bot.triage import triage
from tests.fakes import NOW, make_job

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
ID = "0123456789abcdef0123456789abcdef"
JOB = make_job()
KV_ROLE = "/subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"
KV = "/subscriptions/sub-1/resourceGroups/rg-shared/providers/Microsoft.KeyVault/vaults/kv-orders"
ASSIGNMENT = f"{KV}/providers/Microsoft.Authorization/roleAssignments/7d1e2f3a-0000-4000-8000-000000000002"


def verdict(cause: Cause, what: str, *changes: PropertyChange, resource: str | None = None,
            operation: str = "Microsoft.App/jobs/write") -> Verdict:
    change = SuspectedChange(NOW - timedelta(hours=1), "p.novak@woodgrove.com", operation, what, changes,
                             ChangeSource.RESOURCE_GRAPH, resource)
    return Verdict(cause, Confidence.HIGH, f"{cause.value} since the change", change, None)


TIMEOUT = verdict(Cause.TIMEOUT, "replicaTimeout 1800 → 300",
                  PropertyChange("properties.configuration.replicaTimeout", "1800", "300"))
MAX_EXECUTIONS = verdict(Cause.SATURATION, "maxExecutions 20 → 2",
                         PropertyChange("properties.configuration.eventTriggerConfig.scale.maxExecutions", "20", "2"))
ROLE_DELETED = verdict(
    Cause.IDENTITY, "role assignment Key Vault Secrets User of the job's identity deleted",
    PropertyChange("properties.principalId", "9a8b7c6d-aaaa-4bbb-8ccc-ddddeeeeffff", None),
    PropertyChange("properties.principalType", "ServicePrincipal", None),
    PropertyChange("properties.roleDefinitionId", KV_ROLE, None),
    PropertyChange("properties.scope", KV, None),
    resource=ASSIGNMENT, operation="MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/DELETE")


def plan(v: Verdict) -> Checklist:
    facts = PlanFacts(JOB, v, (), Owners("<!subteam^S0OWNERS>", ()), None, None)
    return build_checklist(facts, checklist_id=ID, channel="C0INC", opened_by="U0ONCALL", now=NOW)


# --- the plan ------------------------------------------------------------------------------------------


def test_a_timeout_cut_opens_a_revert_checklist_with_the_exact_command_and_no_image_target() -> None:
    assert rollback_refusal(TIMEOUT, JOB.ref.id) is None
    c = plan(TIMEOUT)
    assert c.target.image is None and c.what == "configuration revert"
    assert c.reverts == (Revert(JOB.ref.id, "properties.configuration.replicaTimeout", "1800", "300"),)
    assert [s.kind for s in c.team_steps] == [StepKind.LEAD, StepKind.INTAKE, StepKind.APPLY, StepKind.PERSIST,
                                              StepKind.VERIFY, StepKind.NOTIFY, StepKind.CLOSE]
    apply = c.step(StepKind.APPLY)
    assert apply.needs_approval and "jobbot never runs them" in apply.detail
    assert apply.commands == ("az containerapp job update --name orders-processor --resource-group rg-orders "
                              "--replica-timeout 1800",)
    assert shlex.split(apply.commands[0])[-2:] == ["--replica-timeout", "1800"]
    assert not c.has_step(StepKind.REGISTRY), "no image, no registry to check"
    summary = render_checklist(c).blocks[1]["text"]["text"]
    assert "*Revert:* replicaTimeout 1800 → 300 (`configuration.replicaTimeout: 1800 → 300`) · the image stays" \
        in summary


def test_a_max_executions_cut_reverts_it_and_does_not_limit_intake_further() -> None:
    c = plan(MAX_EXECUTIONS)
    assert c.step(StepKind.APPLY).commands == (
        "az containerapp job update --name orders-processor --resource-group rg-orders --max-executions 20",)
    assert not c.has_step(StepKind.INTAKE), "lowering maxExecutions is the trouble, not the remedy"
    assert [s.kind for s in c.team_steps][:2] == [StepKind.LEAD, StepKind.APPLY]


def test_a_deleted_role_assignment_is_recreated_by_a_person_and_verified_by_reading_the_assignments() -> None:
    c = plan(ROLE_DELETED)
    [command] = c.step(StepKind.APPLY).commands
    assert command == ("az role assignment create --assignee-object-id 9a8b7c6d-aaaa-4bbb-8ccc-ddddeeeeffff "
                       "--assignee-principal-type ServicePrincipal --role \"Key Vault Secrets User\" "
                       f"--scope {KV}")
    assert "Owner or User Access Administrator" in c.step(StepKind.APPLY).detail
    assert "the role assignment exists again" in c.step(StepKind.VERIFY).detail


def test_a_renamed_queue_is_put_back_with_the_rule_type_the_job_knows_not_a_placeholder() -> None:
    rule = "properties.configuration.eventTriggerConfig.scale.rules[name=queue].metadata.queueName"
    c = plan(verdict(Cause.SCALER_FAILURE, "scale rule queue queueName orders → orders-v2",
                     PropertyChange(rule, "orders", "orders-v2")))
    [command] = c.step(StepKind.APPLY).commands
    assert shlex.split(command)[-6:] == ["--scale-rule-name", "queue", "--scale-rule-type", "azure-queue",
                                         "--scale-rule-metadata", "queueName=orders"]


def test_the_diff_shows_five_properties_then_how_many_more() -> None:
    changes = [PropertyChange(f"properties.configuration.p{i}", str(i), str(i + 1)) for i in range(7)]
    c = plan(verdict(Cause.TIMEOUT, "replicaTimeout 1800 → 300",
                     PropertyChange("properties.configuration.replicaTimeout", "1800", "300"), *changes))
    summary = render_checklist(c).blocks[1]["text"]["text"]
    assert summary.count("`configuration.") == 5 and "+3 more" in summary
    assert len(c.reverts) == 8, "every property is still checked, only the display is cut"


def test_capacity_opens_a_revert_only_for_the_workload_profile_cut_that_explains_it() -> None:
    env = "/subscriptions/sub-1/resourceGroups/rg-orders/providers/Microsoft.App/managedEnvironments/env"
    cut = verdict(Cause.CAPACITY, "environment env workload profile D16-batch maximumCount 10 → 3",
                  PropertyChange("properties.workloadProfiles[name=D16-batch].maximumCount", "10", "3"),
                  resource=env, operation="Microsoft.App/managedEnvironments/write")
    assert plan(cut).step(StepKind.APPLY).commands == (
        "az containerapp env workload-profile update --name env --resource-group rg-orders "
        "--workload-profile-name D16-batch --max-nodes 10",)
    # The same cause with a change that does not explain it (a timeout), or no change at all: no checklist.
    unrelated = replace(cut, suspected_change=TIMEOUT.suspected_change)
    assert "A rollback would not help" in (rollback_refusal(unrelated, JOB.ref.id) or "")
    assert "A rollback would not help" in (rollback_refusal(replace(cut, suspected_change=None), JOB.ref.id) or "")


@pytest.mark.parametrize(("v", "why"), [
    (replace(TIMEOUT, cause=Cause.DEPENDENCY), "A rollback would not help"),
    (replace(TIMEOUT, suspected_change=None), "No change to the job was found"),
    (verdict(Cause.TIMEOUT, "replicaTimeout set to 300",
             PropertyChange("properties.configuration.replicaTimeout", "(not recorded)", 300)),
     "the value before the change is not recorded"),
    (verdict(Cause.SCALER_FAILURE, "keys of storage account st regenerated",
             resource="/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st",
             operation="MICROSOFT.STORAGE/STORAGEACCOUNTS/REGENERATEKEY/ACTION"), "no command puts this change back"),
])
def test_no_checklist_where_a_revert_makes_no_sense_and_the_reason_says_why(v: Verdict, why: str) -> None:
    assert why in (rollback_refusal(v, JOB.ref.id) or "")
    with pytest.raises(Refused, match=why):
        plan(v)


def test_the_not_recorded_refusal_still_hands_over_the_command_with_a_quoted_placeholder() -> None:
    v = verdict(Cause.TIMEOUT, "replicaTimeout set to 300",
                PropertyChange("properties.configuration.replicaTimeout", "(not recorded)", 300))
    refusal = rollback_refusal(v, JOB.ref.id) or ""
    assert '--replica-timeout "<previous value>"`' in refusal and "infrastructure-as-code" in refusal


# --- the bot's judgement of what it re-read ---------------------------------------------------------------


def test_a_property_is_back_when_the_resource_holds_its_old_value_again() -> None:
    path = "properties.configuration.replicaTimeout"
    reverts = [Revert(JOB.ref.id, path, "1800", "300")]
    body: dict[str, Any] = {"properties": {"configuration": {"replicaTimeout": 300}}}
    still = config_finding(JOB.ref.id, body, reverts)
    assert still.state is FindingState.FAIL and "`configuration.replicaTimeout` is `300`, not `1800`" in still.evidence
    body["properties"]["configuration"]["replicaTimeout"] = 1800
    back = config_finding(JOB.ref.id, body, reverts)
    assert back.state is FindingState.PASS and "is `1800`" in back.evidence


def test_named_items_and_identity_maps_are_compared_as_azure_returns_them() -> None:
    rule = "properties.configuration.eventTriggerConfig.scale.rules[name=parcels-us].metadata.queueName"
    body = {"properties": {"configuration": {"eventTriggerConfig": {"scale": {"rules": [
        {"name": "other", "metadata": {"queueName": "x"}}, {"name": "parcels-us", "metadata": {"queueName": "b"}}]}}}}}
    assert value_at(body, rule) == "b" and not is_back(value_at(body, rule), "parcels-us")
    uami = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-x"
    # Azure adds principalId/clientId to a re-assigned identity: the old (empty) entry is still "back".
    assert is_back({uami.lower(): {"principalId": "p", "clientId": "c"}}, {uami: {}})
    assert not is_back({}, {uami: {}})
    assert is_back("SystemAssigned, UserAssigned", "SystemAssigned,UserAssigned")


def test_secret_values_are_never_read_so_they_are_not_judged() -> None:
    reverts = [Revert(JOB.ref.id, "properties.configuration.secrets[name=db].value", "value changed",
                      "value changed")]
    finding = config_finding(JOB.ref.id, {}, reverts)
    assert finding.state is FindingState.NOT_APPLICABLE and "never reads" in finding.evidence


def test_a_role_assignment_is_back_directly_or_inherited_from_above() -> None:
    principal = "9a8b7c6d-aaaa-4bbb-8ccc-ddddeeeeffff"
    direct = {"properties": {"principalId": principal, "roleDefinitionId": KV_ROLE, "scope": KV}}
    inherited = {"properties": {"principalId": principal, "roleDefinitionId": KV_ROLE.split("/providers/")[0]
                                + "/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-"
                                "0445c86b69e6", "scope": "/subscriptions/sub-1/resourceGroups/rg-shared"}}
    other_role = {"properties": {**direct["properties"], "roleDefinitionId": KV_ROLE[:-4] + "ffff"}}
    assert access_finding([direct], principal, KV_ROLE, KV).state is FindingState.PASS
    assert access_finding([inherited], principal, KV_ROLE, KV).state is FindingState.PASS
    missing = access_finding([other_role], principal, KV_ROLE, KV)
    assert missing.state is FindingState.FAIL and "Key Vault Secrets User" in missing.evidence


# --- every bundled scenario, triaged for real against the emulator ----------------------------------------


async def _plan_from_triage(world: ScenarioWorld) -> tuple[Checklist | None, str | None]:
    async with azure_readers(world.credential, world.endpoints, world.config) as readers:
        seen = []

        async def on_job(job: Any) -> None:
            seen.append(job)

        report = await triage(parse_job(world.scenario.expect["job"]), DEFAULT_SINCE, readers, world.clock,
                              deadline_s=world.config.check_deadline_s, config=world.config, on_job=on_job)
        refusal = rollback_refusal(report.verdict, report.job.id)
        if refusal is not None:
            return None, refusal
        history = tuple(await readers.jobs.executions(seen[-1].ref))
        facts = PlanFacts(seen[-1], report.verdict, history, report.owners, report.runbook, queue_facts(report))
        return build_checklist(facts, checklist_id=ID, channel="C0INC", opened_by="U0ONCALL",
                               now=world.clock.now()), None


def planned(path: Path) -> tuple[Checklist | None, str | None]:
    with scenario_world(path, replace(Config(), check_deadline_s=30)) as world:
        return asyncio.run(_plan_from_triage(world))


# Scenarios whose expect block names a suspected change: the others have nothing to roll back.
WITH_CHANGE = [p for p in bundled_scenarios() if yaml.safe_load(p.read_text())["expect"].get("suspected_change")]
CONFIG_CHECKLISTS = {"change-replica-timeout-cut", "change-max-executions-cut", "change-role-assignment-deleted",
                     "change-scale-rule-queue-renamed", "change-workload-profile-cut", "change-identity-removed",
                     "identity"}


def test_every_bundled_incident_that_opens_a_checklist_starts_with_the_decision_and_acts_by_the_fourth_step() -> None:
    opened: dict[str, Checklist] = {}
    for path in WITH_CHANGE:
        checklist, refusal = planned(path)
        if checklist is None:
            assert refusal, f"{path.stem}: a refusal says why"
            continue
        opened[path.stem] = checklist
        team = [s.kind for s in checklist.team_steps]
        assert team[0] is StepKind.LEAD, f"{path.stem}: the first open step is the go / no-go decision"
        assert team.index(StepKind.APPLY) + 1 <= 4, f"{path.stem}: the command by the fourth open step ({team})"
        assert team.index(StepKind.APPLY) < team.index(StepKind.VERIFY) < team.index(StepKind.CLOSE)
        assert [s.kind for s in checklist.steps if s.prefilled] == [StepKind.EVIDENCE, StepKind.CAUSE, StepKind.TARGET]
        assert checklist.step(StepKind.APPLY).commands, f"{path.stem}: the act step carries its commands"
    assert set(opened) >= CONFIG_CHECKLISTS, sorted(opened)
    assert {"oom-after-image-change", "image-pull", "app-error"} <= set(opened)
    assert all(opened[name].target.image is None for name in CONFIG_CHECKLISTS)


# --- the revert verified against the emulator ---------------------------------------------------------------


@dataclass
class Reverted:
    world: ScenarioWorld
    checklist: Checklist
    body: dict[str, Any]

    def switch(self, body: dict[str, Any]) -> None:
        """Swap the emulator's world through its control endpoint (Azure itself is only ever read)."""
        _post_world(self.world, body)

    def check(self) -> Any:
        async def run() -> Any:
            async with azure_readers(self.world.credential, self.world.endpoints, self.world.config) as readers:
                return await verify(readers, self.checklist, self.world.clock.now() + timedelta(minutes=20))

        return asyncio.run(run())


def _post_world(world: ScenarioWorld, body: dict[str, Any]) -> None:
    import ssl

    import httpx

    emulator = world.emulator
    answer = httpx.post(f"{emulator.url}/_emulator/scenario", json=body, trust_env=False, timeout=30,
                        verify=ssl.create_default_context(cafile=emulator.ca_file))
    assert answer.status_code == 200, answer.text


@contextmanager
def reverted_world(name: str) -> Iterator[Reverted]:
    path = SCENARIOS / f"{name}.yaml"
    with scenario_world(path, replace(Config(), check_deadline_s=30)) as world:
        checklist, refusal = asyncio.run(_plan_from_triage(world))
        assert checklist is not None, refusal
        checklist = mark_done(checklist, StepKind.APPLY, "U0OWNER", world.clock.now(), approver=True)
        yield Reverted(world, checklist, yaml.safe_load(path.read_text()))


def _after_revert(body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The world once a person ran the revert: one execution started after it, and it succeeded."""
    world = copy.deepcopy(body)
    job = world["jobs"][0]
    template = job["properties"]["template"]
    start = now + timedelta(minutes=5)
    job.setdefault("executions", []).insert(0, {
        "name": f"{job['name']}-after", "id": f"{job['id']}/executions/{job['name']}-after",
        "type": "Microsoft.App/jobs/executions",
        "properties": {"status": "Succeeded", "startTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "endTime": (start + timedelta(minutes=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "template": {"containers": template["containers"]}}})
    return world


def test_a_reverted_replica_timeout_passes_the_bots_check_and_an_unreverted_one_does_not() -> None:
    with reverted_world("change-replica-timeout-cut") as r:
        now = r.world.clock.now()
        # The executions succeed again, but the job still has 240 s: not verified.
        r.switch(_after_revert(r.body, now))
        still = r.check()
        states = {f.name: f for f in still.findings}
        assert states["config"].state is FindingState.FAIL and "is `240`, not `1800`" in states["config"].evidence
        assert states["executions"].state is FindingState.PASS and not still.passed
        # A person ran the command: the job holds 1800 again, and the check passes on what it read.
        world = _after_revert(r.body, now)
        world["jobs"][0]["properties"]["configuration"]["replicaTimeout"] = 1800
        r.switch(world)
        back = r.check()
        assert back.passed, back.findings
        assert "`configuration.replicaTimeout` is `1800`" in {f.name: f for f in back.findings}["config"].evidence
        assert not any(f.name == "image" for f in back.findings), "a revert keeps the image: nothing to compare"


def test_a_recreated_role_assignment_passes_the_bots_check() -> None:
    with reverted_world("change-role-assignment-deleted") as r:
        now = r.world.clock.now()
        r.switch(_after_revert(r.body, now))
        missing = {f.name: f for f in r.check().findings}["access"]
        assert missing.state is FindingState.FAIL and "Key Vault Secrets User" in missing.evidence
        (principal, role, scope) = _deleted(r.checklist)
        world = _after_revert(r.body, now)
        world.setdefault("role_assignments", []).append({
            "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/5e6f7a8b-0000-4000-8000-000000000009",
            "name": "5e6f7a8b-0000-4000-8000-000000000009", "type": "Microsoft.Authorization/roleAssignments",
            "properties": {"roleDefinitionId": role, "principalId": principal, "principalType": "ServicePrincipal",
                           "scope": scope}})
        r.switch(world)
        back = r.check()
        assert {f.name: f for f in back.findings}["access"].state is FindingState.PASS, back.findings


def _deleted(checklist: Checklist) -> tuple[str, str, str]:
    from bot.checklists.reverts import deleted_assignment

    found = deleted_assignment(checklist.reverts)
    assert found is not None
    return found


def test_a_revert_checklist_is_stored_losslessly_and_its_review_document_says_what_was_reverted() -> None:
    from bot.checklists.codec import decode, encode
    from bot.checklists.timeline import markdown

    for v in (TIMEOUT, ROLE_DELETED, verdict(Cause.IDENTITY, "user-assigned identity id-x removed",
                                             PropertyChange("identity.userAssignedIdentities", {"/x/id-x": {}}, None))):
        c = plan(v)
        assert decode(encode(c)) == c
    document = markdown(plan(TIMEOUT))
    assert "- Revert: replicaTimeout 1800 → 300; 1 property put back (the image stays)" in document
    assert "1. [x] Save the current definition: done by jobbot when the checklist opened (saved the current" in document


def test_an_image_and_configuration_written_together_keep_the_image_rollback_with_the_property_revert() -> None:
    from bot.model import RollbackCandidate
    from tests.fakes import execution

    good, bad = "contoso.azurecr.io/orders:1.4.2", "contoso.azurecr.io/orders:1.5.0"
    both = replace(verdict(Cause.OOM, f"image {good} → {bad} (+1 more)",
                           PropertyChange("properties.template.containers[name=worker].image", good, bad),
                           PropertyChange("properties.configuration.replicaTimeout", "1800", "300")),
                   rollback_candidate=RollbackCandidate(good, NOW - timedelta(minutes=56), "good-1"))
    facts = PlanFacts(JOB, both, (execution("good-1", "Succeeded", 60, image=good),), None, None, None)
    c = build_checklist(facts, checklist_id=ID, channel="C0INC", opened_by="U0ONCALL", now=NOW)
    assert c.target.image == good
    assert c.step(StepKind.APPLY).commands == (
        f"az containerapp job update --name orders-processor --resource-group rg-orders --subscription sub-1 "
        f"--image {good}",
        "az containerapp job update --name orders-processor --resource-group rg-orders --replica-timeout 1800")
    # The bot checks the property too, not only the image.
    assert c.reverts == (Revert(JOB.ref.id, "properties.configuration.replicaTimeout", "1800", "300"),)
    assert "the properties the same change set are back" in c.step(StepKind.VERIFY).detail
    assert [s.kind for s in c.team_steps].index(StepKind.APPLY) + 1 == 4
