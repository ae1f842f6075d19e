"""Plan building: the steps a rollback needs for this job and verdict, with the exact commands. Pure."""

from __future__ import annotations

import shlex
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.checklists.images import parse_image
from bot.checklists.model import Refused, StepKind
from bot.checklists.plan import PlanFacts, QueueFacts, build_checklist, offers_rollback, rollback_refusal
from bot.checklists.snapshot import snapshot_lines
from bot.model import (
    Cause,
    Confidence,
    Container,
    Owners,
    RollbackCandidate,
    Runbook,
    ScaleRule,
    SuspectedChange,
    Verdict,
)
from tests.fakes import NOW, execution, make_job

GOOD = "contoso.azurecr.io/orders:1.4.2"
BAD = "contoso.azurecr.io/orders:1.5.0"
ID = "0123456789abcdef0123456789abcdef"


def oom(**overrides: object) -> Verdict:
    values: dict[str, object] = dict(
        cause=Cause.OOM, confidence=Confidence.HIGH, summary="killed with 137 near the memory limit",
        suspected_change=SuspectedChange(NOW, "deployer@contoso.com", "MICROSOFT.APP/JOBS/WRITE",
                                         f"image {GOOD} -> {BAD}"),
        rollback_candidate=RollbackCandidate(GOOD, NOW - timedelta(minutes=56), "good-1"))
    values.update(overrides)
    return Verdict(**values)  # type: ignore[arg-type]


def facts(**overrides: object) -> PlanFacts:
    job = make_job(containers=(Container("worker", BAD, 1.0, "2Gi", ("A", "B")),))
    history = (execution("bad-1", "Failed", 10), execution("good-1", "Succeeded", 60, image=GOOD, memory="1Gi"))
    values: dict[str, object] = dict(
        job=job, verdict=oom(), history=history, owners=Owners("<!subteam^S0OWNERS>", ("<@U0MGR>", "team-x")),
        runbook=Runbook("oom", "Executions are killed at the memory limit", ()),
        queue=QueueFacts("azure-queue", "st", "orders", 1520, None, 50))
    values.update(overrides)
    return PlanFacts(**values)  # type: ignore[arg-type]


def plan(f: PlanFacts | None = None):  # type: ignore[no-untyped-def]
    return build_checklist(f or facts(), checklist_id=ID, channel="C0INC", opened_by="U0ONCALL", now=NOW)


def test_the_steps_follow_a_rollback_from_what_jobbot_did_to_the_decision_to_close() -> None:
    c = plan()
    assert [s.kind for s in c.steps if s.prefilled] == [StepKind.EVIDENCE, StepKind.CAUSE, StepKind.TARGET]
    # Confirm -> act -> verify: the decision first, the rollback command the fourth open step.
    assert [s.kind for s in c.team_steps] == [StepKind.LEAD, StepKind.REGISTRY, StepKind.INTAKE, StepKind.APPLY,
                                              StepKind.PERSIST, StepKind.VERIFY, StepKind.NOTIFY, StepKind.CLOSE]
    approval = {s.kind for s in c.steps if s.needs_approval}
    assert approval == {StepKind.INTAKE, StepKind.APPLY}


def test_the_apply_step_has_the_exact_command_with_the_last_good_resources() -> None:
    apply = plan().step(StepKind.APPLY)
    # The last good run had 1Gi; today the job asks for 2Gi: the rollback restores both.
    assert apply.commands == ("az containerapp job update --name orders-processor --resource-group rg-orders "
                              f"--subscription sub-1 --image {GOOD} --cpu 0.5 --memory 1Gi",)
    assert shlex.split(apply.commands[0])[-5] == GOOD


def test_the_target_says_when_it_last_worked_what_differs_and_what_history_cannot_tell() -> None:
    c = plan()
    assert c.target.image == GOOD and c.target.current_image == BAD and c.target.execution == "good-1"
    target = c.step(StepKind.TARGET).detail
    assert f"image {GOOD} → {BAD}" in target
    assert "memory 1Gi → 2Gi" in target and "cpu 0.5 → 1" in target
    assert "scale rule today: azure-queue `queue` (queueName orders, queueLength 5), maxExecutions 10" in target
    assert "Scale rules, secrets and timeouts are not recorded in execution history" in target
    assert "infrastructure-as-code" in target


def test_a_pipeline_owned_job_rolls_back_through_the_pipeline() -> None:
    job = replace(facts().job, tags={"managed-by": "azure-devops orders-release"})
    apply = plan(facts(job=job)).step(StepKind.APPLY)
    assert "A pipeline owns this job (tag `managed-by: azure-devops orders-release`)" in apply.detail
    assert "next run undoes the rollback" in apply.detail
    assert plan(facts(job=job)).step(StepKind.PERSIST).detail.startswith("Revert the change in the pipeline (`")


def test_intake_is_limited_without_suspend_or_stop() -> None:
    intake = plan().step(StepKind.INTAKE)
    assert intake.commands[0].endswith("--max-executions 1") and intake.commands[1].endswith("--max-executions 10")
    assert "Do not suspend or stop" in intake.detail
    assert not any("suspend" in c or "stop" in c for c in intake.commands)


def test_service_bus_intake_disables_receiving_and_dead_letters_get_a_replay_step() -> None:
    rule = ScaleRule("sb", "azure-servicebus", {"namespace": "sb-contoso", "queueName": "notifications"})
    f = facts(job=replace(facts().job, rules=(rule,)),
              queue=QueueFacts("azure-servicebus", "sb-contoso", "notifications", 40, 7, 50))
    c = plan(f)
    intake = c.step(StepKind.INTAKE)
    assert intake.commands == (
        "az servicebus queue update --resource-group rg-orders --namespace-name sb-contoso --name notifications "
        "--status ReceiveDisabled",
        "az servicebus queue update --resource-group rg-orders --namespace-name sb-contoso --name notifications "
        "--status Active")
    replay = c.step(StepKind.REPLAY)
    assert replay.needs_approval and "safe to repeat" in replay.detail and "7 on" in replay.detail


def test_the_decision_is_tailored_to_the_cause_and_names_the_runbook() -> None:
    decide = plan().step(StepKind.LEAD).detail
    assert "Confirm memory is the killer" in decide and "Runbook: Executions are killed at the memory limit" in decide
    timeout = plan(facts(verdict=oom(cause=Cause.TIMEOUT))).step(StepKind.LEAD).detail
    assert "replicaTimeout" in timeout and "Confirm memory is the killer" not in timeout
    # The cause itself is jobbot's finding, done with its evidence: who changed what.
    cause = plan().step(StepKind.CAUSE)
    assert cause.evidence == "cause: oom, high confidence: killed with 137 near the memory limit"
    assert f"Suspected change by deployer@contoso.com at 2026-11-28 10:00 UTC: image {GOOD} -> {BAD}." in cause.detail


def test_the_registry_step_reads_the_digest_from_acr() -> None:
    step = plan().step(StepKind.REGISTRY)
    assert step.commands == ("az acr repository show --name contoso --image orders:1.4.2 --query digest -o tsv",)


def test_approvers_are_owner_mentions_only_and_the_notify_step_tags_them() -> None:
    c = plan()
    assert c.approvers == ("<!subteam^S0OWNERS>", "<@U0MGR>")
    assert c.step(StepKind.NOTIFY).mentions == c.approvers
    assert (c.queue_baseline, c.queue_capacity) == (1520, 50)


@pytest.mark.parametrize(("verdict", "why"), [
    (oom(cause=Cause.DEPENDENCY), "A rollback would not help"),
    (oom(suspected_change=None), "No change to the job was found"),
    (oom(rollback_candidate=None), "No last known good image"),
])
def test_no_checklist_when_the_verdict_offers_no_rollback(verdict: Verdict, why: str) -> None:
    assert not offers_rollback(verdict)
    assert why in (rollback_refusal(verdict) or "")
    with pytest.raises(Refused, match=why):
        plan(facts(verdict=verdict))


def test_the_snapshot_names_env_vars_but_never_their_values() -> None:
    job = facts().job
    lines = snapshot_lines(job, facts().history, NOW)
    text = "\n".join(lines)
    assert "env names A, B" in text and "`bad-1` Failed" in text and "maxExecutions 10" in text
    leaky = replace(job, rules=(ScaleRule("q", "azure-queue", {"connection": "AccountKey=c2VjcmV0a2V5PT0="}),))
    assert "c2VjcmV0a2V5PT0=" not in "\n".join(snapshot_lines(leaky, (), NOW))


# --- image references ----------------------------------------------------------------------------------

NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)


@given(registry=st.one_of(st.none(), st.builds("{}.azurecr.io".format, NAME), st.builds("localhost:{}".format,
                                                                                         st.integers(1, 65535))),
       path=st.lists(NAME, min_size=1, max_size=3), tag=st.one_of(st.none(), NAME),
       digest=st.one_of(st.none(), st.builds("sha256:{}".format, st.text(alphabet="0123456789abcdef", min_size=64,
                                                                          max_size=64))))
def test_an_image_reference_splits_and_joins_back(registry: str | None, path: list[str], tag: str | None,
                                                  digest: str | None) -> None:
    repository = "/".join(path)
    text = (f"{registry}/" if registry else "") + repository + (f":{tag}" if tag else "") + (f"@{digest}" if digest
                                                                                           else "")
    ref = parse_image(text)
    if registry is None and len(path) > 1 and "." not in path[0] and path[0] != "localhost":
        assert ref.registry is None  # Docker Hub: the first part is an organisation
    assert str(ref) == text
    assert (ref.tag, ref.digest) == (tag, digest)


def test_acr_images_know_their_registry_name() -> None:
    assert parse_image(GOOD).acr_name == "contoso"
    assert parse_image("nginx:1.27").acr_name is None and parse_image("nginx:1.27").registry is None
