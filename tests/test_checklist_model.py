"""The checklist's pure core: transitions, their refusals, the stored form, and button values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.checklists.actions import BadValue, StepRef, parse_value
from bot.checklists.codec import UnknownFormat, decode, encode
from bot.checklists.model import (
    BOT,
    Check,
    Checklist,
    EventKind,
    Finding,
    FindingState,
    Refused,
    StepKind,
    StepStatus,
    close,
    mark_done,
    record_check,
    record_recheck,
    skip,
    undo,
)
from bot.checklists.plan import PlanFacts, build_checklist
from bot.model import (
    Cause,
    Confidence,
    Container,
    Owners,
    RollbackCandidate,
    SuspectedChange,
    Verdict,
)
from tests.fakes import NOW, execution, make_job

CHECKLIST_ID = "0123456789abcdef0123456789abcdef"
GOOD = "contoso.azurecr.io/orders:1.4.2"
LATER = NOW + timedelta(minutes=3)


def verdict() -> Verdict:
    return Verdict(Cause.OOM, Confidence.HIGH, "12 of 14 executions were killed with exit code 137.",
                   SuspectedChange(NOW - timedelta(hours=1), "deployer@contoso.com", "MICROSOFT.APP/JOBS/WRITE",
                                   f"image {GOOD} -> contoso.azurecr.io/orders:1.5.0"),
                   RollbackCandidate(GOOD, NOW - timedelta(minutes=56), "good-1"))


def checklist() -> Checklist:
    job = make_job(containers=(Container("worker", "contoso.azurecr.io/orders:1.5.0", 0.5, "1Gi", ("QUEUE",)),))
    history = (execution("bad-1", "Failed", 10), execution("good-1", "Succeeded", 60, image=GOOD))
    facts = PlanFacts(job, verdict(), history, Owners("<!subteam^S0OWNERS>", ("<@U0MGR>",)), None, None)
    return build_checklist(facts, checklist_id=CHECKLIST_ID, channel="C0INC", opened_by="U0ONCALL", now=NOW)


def passed(at: datetime = LATER) -> Check:
    return Check(at, (Finding("image", FindingState.PASS, "runs the target"),
                      Finding("executions", FindingState.PASS, "3 succeeded"),
                      Finding("queue", FindingState.NOT_APPLICABLE, "no queue")))


def waiting(at: datetime = LATER) -> Check:
    return Check(at, (Finding("image", FindingState.FAIL, "still the bad image"),
                      Finding("executions", FindingState.WAITING, "none yet"),
                      Finding("queue", FindingState.FAIL, "1520 messages")))


def test_done_records_who_and_when_and_the_lead_becomes_the_clicker() -> None:
    c = mark_done(checklist(), StepKind.LEAD, "U0LEAD", LATER, approver=False)
    lead = c.step(StepKind.LEAD)
    assert (lead.status, lead.by, lead.at, c.lead) == (StepStatus.DONE, "U0LEAD", LATER, "U0LEAD")
    assert c.events[-1].kind is EventKind.DONE and c.events[-1].actor == "U0LEAD"


def test_an_approval_step_refuses_someone_who_is_not_an_owner_and_says_who_may() -> None:
    with pytest.raises(Refused, match=r"needs an owner's approval.*<!subteam\^S0OWNERS>"):
        mark_done(checklist(), StepKind.APPLY, "U0STRANGER", LATER, approver=False)
    c = mark_done(checklist(), StepKind.APPLY, "U0OWNER", LATER, approver=True)
    assert c.applied_at == LATER


def test_without_known_owners_the_refusal_says_how_to_name_them() -> None:
    from dataclasses import replace

    with pytest.raises(Refused, match="no owners are known"):
        mark_done(replace(checklist(), approvers=()), StepKind.APPLY, "U0X", LATER, approver=False)


def test_skip_needs_a_reason_and_keeps_it() -> None:
    with pytest.raises(Refused, match="Say why"):
        skip(checklist(), StepKind.REGISTRY, "U0X", "  ", LATER, approver=True)
    c = skip(checklist(), StepKind.REGISTRY, "U0X", "pinned by\ndigest already", LATER, approver=True)
    step = c.step(StepKind.REGISTRY)
    assert (step.status, step.reason) == (StepStatus.SKIPPED, "pinned by digest already")


def test_undo_reopens_and_stops_the_rollback_clock() -> None:
    c = mark_done(checklist(), StepKind.APPLY, "U0OWNER", LATER, approver=True)
    c = undo(c, StepKind.APPLY, "U0OWNER", LATER, approver=True)
    assert c.step(StepKind.APPLY).status is StepStatus.OPEN and c.applied_at is None
    with pytest.raises(Refused, match="nothing to undo"):
        undo(c, StepKind.APPLY, "U0OWNER", LATER, approver=True)


def test_a_step_cannot_be_ticked_twice() -> None:
    c = mark_done(checklist(), StepKind.PERSIST, "U0A", LATER, approver=True)
    with pytest.raises(Refused, match="already done"):
        mark_done(c, StepKind.PERSIST, "U0B", LATER, approver=True)


def test_what_jobbot_did_starts_done_by_jobbot_with_its_evidence_and_the_trail_says_so() -> None:
    c = checklist()
    by_bot = [s for s in c.steps if s.prefilled]
    assert [s.kind for s in by_bot] == [StepKind.EVIDENCE, StepKind.CAUSE, StepKind.TARGET]
    assert all(s.status is StepStatus.DONE and s.by == BOT and s.done_by_bot and s.at == NOW for s in by_bot)
    assert c.step(StepKind.CAUSE).evidence.startswith("cause: oom, high confidence: 12 of 14 executions")
    assert f"target `{GOOD}` from execution history" in c.step(StepKind.TARGET).evidence
    # The timeline tells the bot's work from people's: one bot-done entry per step, by jobbot, with the evidence.
    bot_entries = [e for e in c.events if e.kind is EventKind.BOT_DONE]
    assert [(e.actor, e.step) for e in bot_entries] == [(BOT, s.kind) for s in by_bot]
    assert bot_entries[1].note == c.step(StepKind.CAUSE).evidence
    # The team's first open step is the go / no-go decision, and the lead is still who takes it.
    assert c.team_steps[0].kind is StepKind.LEAD and "go / no-go" in c.team_steps[0].title.lower()
    # A person's done step is not a bot's.
    ticked = mark_done(c, StepKind.PERSIST, "U0A", LATER, approver=True).step(StepKind.PERSIST)
    assert ticked.status is StepStatus.DONE and not ticked.done_by_bot and not ticked.prefilled


@pytest.mark.parametrize("kind", [StepKind.EVIDENCE, StepKind.CAUSE, StepKind.TARGET])
def test_a_step_jobbot_did_cannot_be_undone_skipped_or_ticked_by_a_click(kind: StepKind) -> None:
    c = checklist()
    for change in (lambda: undo(c, kind, "U0OWNER", LATER, approver=True),
                   lambda: skip(c, kind, "U0OWNER", "not needed", LATER, approver=True),
                   lambda: mark_done(c, kind, "U0OWNER", LATER, approver=True)):
        with pytest.raises(Refused, match=r"done by jobbot|already done"):
            change()
    assert c.step(kind).done_by_bot


def test_a_person_can_still_undo_their_own_step() -> None:
    c = mark_done(checklist(), StepKind.PERSIST, "U0A", LATER, approver=True)
    assert undo(c, StepKind.PERSIST, "U0A", LATER, approver=True).step(StepKind.PERSIST).status is StepStatus.OPEN


def test_people_cannot_tick_the_verification_only_the_bots_passing_check_can() -> None:
    with pytest.raises(Refused, match="only when jobbot's own read-only check passes"):
        mark_done(checklist(), StepKind.VERIFY, "U0X", LATER, approver=True)
    still = record_check(checklist(), waiting(), "U0X", LATER)
    assert still.step(StepKind.VERIFY).status is StepStatus.OPEN
    assert still.step(StepKind.VERIFY).check == waiting()
    ticked = record_check(still, passed(), "U0X", LATER)
    step = ticked.step(StepKind.VERIFY)
    assert (step.status, step.by) == (StepStatus.DONE, BOT)
    assert [e.kind for e in ticked.events[-2:]] == [EventKind.CHECKED, EventKind.VERIFIED]


def test_a_check_passes_only_with_the_image_and_new_executions_passing() -> None:
    assert passed().passed and not waiting().passed
    no_executions = Check(LATER, (Finding("image", FindingState.PASS, ""),
                                  Finding("executions", FindingState.WAITING, ""),
                                  Finding("queue", FindingState.PASS, "")))
    unknown_queue = Check(LATER, (Finding("image", FindingState.PASS, ""),
                                  Finding("executions", FindingState.PASS, ""),
                                  Finding("queue", FindingState.UNKNOWN, "")))
    assert not no_executions.passed and not unknown_queue.passed


def test_close_refuses_while_steps_are_open_and_names_them() -> None:
    with pytest.raises(Refused, match="“Go / no-go: the incident lead decides”"):
        close(checklist(), "U0X", LATER)


def test_a_closed_checklist_refuses_every_change() -> None:
    c = checklist()
    for step in c.team_steps:
        if step.kind not in (StepKind.VERIFY, StepKind.CLOSE):
            c = mark_done(c, step.kind, "U0X", LATER, approver=True)
    c = close(record_check(c, passed(), "U0X", LATER), "U0X", LATER)
    assert not c.is_open and c.closed_by == "U0X"
    with pytest.raises(Refused, match="closed"):
        undo(c, StepKind.LEAD, "U0X", LATER, approver=True)
    with pytest.raises(Refused, match="closed"):
        record_check(c, passed(), BOT, LATER)


def test_a_recheck_is_recorded_once_per_application_of_the_rollback() -> None:
    c = mark_done(checklist(), StepKind.APPLY, "U0OWNER", LATER, approver=True)
    c = record_recheck(c, 5, LATER, waiting(), LATER + timedelta(minutes=5))
    assert c.rechecks[-1].recovered is False
    with pytest.raises(Refused, match="already recorded"):
        record_recheck(c, 5, LATER, passed(), LATER + timedelta(minutes=6))
    with pytest.raises(Refused, match="undone or done again"):
        record_recheck(c, 15, LATER - timedelta(minutes=1), passed(), LATER)


# --- any sequence of clicks -----------------------------------------------------------------------------

ACTIONS = st.sampled_from(["done", "skip", "undo", "check", "close"])
STEPS = st.sampled_from(list(StepKind))
USERS = st.sampled_from(["U0A", "U0B", "U0OWNER"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(ACTIONS, STEPS, USERS, st.booleans()), max_size=30))
def test_any_sequence_of_clicks_keeps_the_state_consistent_and_stored_losslessly(
    clicks: list[tuple[str, StepKind, str, bool]],
) -> None:
    c = checklist()
    applied = 0
    for number, (action, kind, user, good) in enumerate(clicks):
        now = NOW + timedelta(minutes=number)
        approver = user == "U0OWNER"
        before = len(c.events)
        try:
            if action == "done":
                c = mark_done(c, kind, user, now, approver=approver)
            elif action == "skip":
                c = skip(c, kind, user, "a reason", now, approver=approver)
            elif action == "undo":
                c = undo(c, kind, user, now, approver=approver)
            elif action == "check":
                c = record_check(c, passed(now) if good else waiting(now), user, now)
            else:
                c = close(c, user, now)
        except Refused:
            assert len(c.events) == before, "a refused click changes nothing"
            continue
        assert len(c.events) > before, "every accepted click is in the timeline"
        applied += 1
        for step in c.steps:
            assert (step.by is None) == (step.status is StepStatus.OPEN)
            if step.kind in (StepKind.EVIDENCE, StepKind.CAUSE, StepKind.TARGET):
                assert step.prefilled, "no click reopens what jobbot did"
            assert step.reason is None or step.status is StepStatus.SKIPPED
            if step.needs_approval and step.settled:
                assert step.by == "U0OWNER"
        assert (c.lead is not None) == (c.step(StepKind.LEAD).status is StepStatus.DONE)
        assert (c.applied_at is not None) == (c.step(StepKind.APPLY).status is StepStatus.DONE)
        assert decode(encode(c)) == c
    assert len(c.events) >= applied + 1


def test_a_document_from_a_newer_jobbot_is_refused_not_half_read() -> None:
    stored = {**encode(checklist()), "format": 99}
    with pytest.raises(UnknownFormat):
        decode(stored)


def test_a_format_1_document_still_reads() -> None:
    stored = encode(checklist())
    old = {**stored, "format": 1, "steps": [{k: v for k, v in step.items() if k != "evidence"}
                                            for step in stored["steps"]]}
    old.pop("reverts")
    read = decode(old)
    assert read.target.image == GOOD and read.reverts == ()
    assert read.step(StepKind.CAUSE).evidence == "" and read.step(StepKind.CAUSE).by == BOT


# --- button values -------------------------------------------------------------------------------------


@given(st.text(alphabet="0123456789abcdef", min_size=32, max_size=32), st.sampled_from([k.value for k in StepKind]))
def test_a_button_value_round_trips(checklist_id: str, step: str) -> None:
    assert parse_value(StepRef(checklist_id, step).value()) == StepRef(checklist_id, step)


@given(st.text(max_size=80))
def test_any_other_button_value_is_refused_cleanly(value: str) -> None:
    try:
        ref = parse_value(value)
    except BadValue as error:
        assert "jobbot checklist" in str(error)
    else:
        assert ref.value() == value


def test_values_carry_ids_only() -> None:
    with pytest.raises(BadValue):
        parse_value('{"checklist": "x", "step": "apply", "by": "U0ADMIN"}')
    with pytest.raises(BadValue):
        parse_value(f"{CHECKLIST_ID}/apply/extra")


def test_the_checklist_core_never_imports_slack_or_azure() -> None:
    from tests.test_architecture import PACKAGE, SDK_PREFIXES, imported_modules

    core = ["actions", "model", "codec", "plan", "reverts", "az", "images", "snapshot", "verify", "timeline",
            "approvals", "state"]
    offenders = {name: sorted(m for m in imported_modules(PACKAGE / "checklists" / f"{name}.py")
                              if m.startswith(SDK_PREFIXES) or m.startswith("bot.slack"))
                 for name in core}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_times_are_stored_as_aware_utc() -> None:
    stored = encode(checklist())
    assert decode(stored).opened_at.tzinfo is not None
    assert datetime.fromisoformat(stored["opened_at"]) == NOW.astimezone(UTC)
