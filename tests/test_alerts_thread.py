"""A thread's state and the Slack work it owes (pure): dedupe, notes owed once, leases, the parent message."""

from __future__ import annotations

import ast
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import bot.alerts
from bot.alerts.codec import thread_from_dict, thread_to_dict
from bot.alerts.render import ACK_ACTION, escalation_text, facts_of, parent_message, resolved_text
from bot.alerts.schema import Alert, Condition, parse_alert
from bot.alerts.thread import (
    ACK_NOTE,
    MAX_ATTEMPTS,
    POST,
    REFRESH,
    TRIAGE,
    Change,
    Posted,
    Routing,
    Thread,
    TriageResult,
    acknowledge,
    apply_alert,
    claim,
    escalate,
    finish_post,
    finish_refresh,
    finish_triage,
    joined_note,
    next_wake,
    open_thread,
    release,
    renew,
    resolved_note,
    runnable,
    unfinished,
)
from bot.slack.limits import check_blocks
from tests.fixtures.alerts.payloads import alert_id, job_id, metric_alert

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
A1, A2 = alert_id("t1"), alert_id("t2")
ROUTING = Routing("C0ORDERS", "catalog", job="orders-processor", primary="<!subteam^S0ORDERS>",
                  chain=("<!subteam^S0LEADS1>", "<@U0MANAGER>"), escalate_after_s=900)


def alert(ident: str = A1, condition: str = "Fired") -> Alert:
    return parse_alert(metric_alert(ident, "failed-executions", job_id("orders-processor"), condition=condition))


def opened(routing: Routing = ROUTING) -> Thread:
    first = alert()
    return apply_alert(open_thread(A1, first, routing, T0, facts_of(first)), first, T0).thread


def posted(thread: Thread | None = None) -> Thread:
    thread = claim(thread or opened(), POST, "r1", T0, T0 + LEASE)
    assert thread is not None
    return finish_post(thread, "C0ORDERS", "1700000000.000100", thread.view)


def keys(thread: Thread) -> list[str]:
    return [e.key for e in thread.effects if not e.done]


# --- deliveries --------------------------------------------------------------------------------------------

def test_a_delivery_applied_again_says_what_it_changed_the_first_time_and_changes_nothing() -> None:
    """A replica killed after writing the thread and before auditing or settling the delivery: the delivery
    is processed again, and must not pass for a repeat (its "opened" row would never be written)."""
    first = alert()
    new = open_thread(A1, first, ROUTING, T0, facts_of(first))
    thread = apply_alert(new, first, T0, "d-open").thread
    again = apply_alert(thread, first, T0, "d-open")
    assert (again.change, again.replayed, again.thread) == (Change.OPENED, True, thread)
    repeat = apply_alert(thread, first, T0, "d-azure-retry")
    assert (repeat.change, repeat.replayed) == (Change.DUPLICATE, False), "another delivery of it is a repeat"
    assert apply_alert(thread, first, T0).change is Change.DUPLICATE, "no delivery id: a repeat"

    joined = apply_alert(thread, alert(A2), T0, "d-join").thread
    resolved = apply_alert(joined, alert(A2, "Resolved"), T0, "d-resolve").thread
    late = apply_alert(resolved, alert(A2), T0, "d-late")  # Fired again after Resolved: already seen
    assert late.change is Change.DUPLICATE
    assert apply_alert(resolved, alert(A2), T0, "d-join").change is Change.JOINED
    assert apply_alert(resolved, alert(A2, "Resolved"), T0, "d-resolve").change is Change.RESOLVED
    resolved_first = apply_alert(thread, alert(A2, "Resolved"), T0, "d-r").thread
    fired_late = apply_alert(resolved_first, alert(A2), T0, "d-f")
    assert fired_late.change is Change.LATE
    assert apply_alert(fired_late.thread, alert(A2), T0, "d-f").change is Change.LATE
    assert thread_from_dict(thread_to_dict(fired_late.thread)) == fired_late.thread, "the ids are stored"


def test_a_new_thread_owes_its_post_and_a_triage() -> None:
    thread = opened()
    assert keys(thread) == [POST, TRIAGE]
    assert runnable(thread, T0) == [POST, TRIAGE], "both start at once; notes wait for the parent"


def test_an_alert_about_no_job_owes_a_post_but_no_triage() -> None:
    assert keys(opened(replace(ROUTING, job=None))) == [POST]


def test_the_same_alert_and_condition_twice_changes_nothing() -> None:
    thread = opened()
    again = apply_alert(thread, alert(), T0 + timedelta(minutes=1))
    assert again.change is Change.DUPLICATE and again.thread is thread


def test_resolved_owes_exactly_one_note_however_often_it_is_delivered() -> None:
    thread = posted()
    first = apply_alert(thread, alert(condition="Resolved"), T0)
    second = apply_alert(first.thread, alert(condition="Resolved"), T0)
    assert (first.change, second.change) == (Change.RESOLVED, Change.DUPLICATE)
    assert [e.key for e in second.thread.effects].count(resolved_note(A1)) == 1
    assert second.thread.resolved


def test_fired_delivered_after_its_resolved_is_late_and_owes_nothing() -> None:
    first = alert(condition="Resolved")
    thread = apply_alert(open_thread(A1, first, ROUTING, T0, facts_of(first)), first, T0).thread
    late = apply_alert(thread, alert(), T0)
    assert late.change is Change.LATE and keys(late.thread) == keys(thread) and late.thread.view == thread.view


def test_another_alert_joining_owes_one_note_and_counts_in_the_parent() -> None:
    thread = posted()
    joined = apply_alert(thread, alert(A2), T0)
    assert joined.change is Change.JOINED
    assert joined_note(A2) in keys(joined.thread)
    facts = str(parent_message(joined.thread).blocks)
    assert "+1 more" in facts


# --- claims and leases -------------------------------------------------------------------------------------

def test_an_effect_is_claimed_by_one_owner_until_its_lease_runs_out() -> None:
    thread = opened()
    mine = claim(thread, POST, "r1", T0, T0 + LEASE)
    assert mine is not None
    assert claim(mine, POST, "r2", T0 + timedelta(seconds=30), T0 + LEASE * 2) is None
    taken = claim(mine, POST, "r2", T0 + LEASE, T0 + LEASE * 2)
    assert taken is not None, "a replica that stopped renewing is taken over"
    renewed = renew(mine, POST, "r1", T0 + LEASE * 2)
    assert renewed is not None and claim(renewed, POST, "r2", T0 + LEASE, T0 + LEASE * 3) is None
    assert renew(taken, POST, "r1", T0 + LEASE * 5) is None, "a lease lost is not renewed"


def test_notes_wait_for_the_parent_and_the_refresh_is_owed_once_per_batch_of_changes() -> None:
    thread = apply_alert(opened(), alert(A2), T0).thread
    assert runnable(thread, T0) == [POST, TRIAGE]
    thread = posted(thread)
    assert REFRESH not in runnable(thread, T0), "the post showed everything so far"
    thread = apply_alert(thread, alert(condition="Resolved"), T0).thread
    thread = apply_alert(thread, alert(A2, condition="Resolved"), T0).thread
    assert runnable(thread, T0) == [joined_note(A2), resolved_note(A1), resolved_note(A2), REFRESH, TRIAGE]
    leased = claim(thread, REFRESH, "r1", T0, T0 + LEASE)
    assert leased is not None and REFRESH not in runnable(leased, T0)
    done = finish_refresh(leased, "r1", leased.view)
    assert REFRESH not in runnable(done, T0)


def test_a_triage_result_is_kept_once_and_owes_a_refresh() -> None:
    thread = posted()
    result = TriageResult("orders-processor: oom", "oom")
    done = finish_triage(thread, result)
    assert done.triage == result and REFRESH in runnable(done, T0)
    assert finish_triage(done, TriageResult(error="later")).triage == result


def test_a_failed_attempt_is_retried_later_then_given_up_and_settles_the_thread() -> None:
    thread = opened()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        now = T0 + timedelta(minutes=attempt)
        leased = claim(thread, POST, "r1", now, now + LEASE)
        assert leased is not None, f"attempt {attempt} may run"
        thread = release(leased, POST, "r1", now, "Slack: internal_error")
        if attempt < MAX_ATTEMPTS:
            assert POST not in runnable(thread, now) and next_wake(thread) is not None
    assert thread.posted is Posted.FAILED
    assert all(e.done for e in thread.effects) and not unfinished(thread)


def test_a_parent_posted_twice_after_a_takeover_keeps_the_first_one() -> None:
    thread = posted()
    again = finish_post(thread, "C0OTHER", "9.9", 9)
    assert (again.ts, again.channel) == (thread.ts, thread.channel) and again.effect(POST) == thread.effect(POST)


def test_acknowledging_is_recorded_once_and_owes_one_note() -> None:
    thread = posted()
    acked = acknowledge(thread, "U0ONCALL", T0)
    assert acked is not None and acked.ack is not None and ACK_NOTE in keys(acked)
    assert acknowledge(acked, "U0OTHER", T0) is None, "the first acknowledgement stands"
    assert ACK_ACTION not in str(parent_message(acked).blocks), "the button goes once acknowledged"


def test_escalating_twice_to_the_same_tier_owes_one_note() -> None:
    thread = escalate(posted(), 2)
    assert escalate(thread, 2) is thread and escalate(thread, 1) is thread
    assert [e.key for e in thread.effects if e.key.startswith("escalate:")] == ["escalate:2"]


# --- what people read --------------------------------------------------------------------------------------

def test_the_parent_says_what_fired_where_and_offers_acknowledge() -> None:
    message = parent_message(posted())
    text = str(message.blocks)
    assert message.text.startswith("Sev2 alert firing: failed-executions on orders-processor")
    assert "Executions (Total) GreaterThan 3" in text and "value 12" in text
    assert "Gathering evidence" in text and ACK_ACTION in text and A1 in text
    assert "escalates to <!subteam^S0LEADS1> after 15 min" in text
    assert check_blocks(message.blocks) == []


def test_a_resolved_parent_says_how_long_it_lasted() -> None:
    thread = apply_alert(posted(), alert(condition="Resolved"), T0).thread
    message = parent_message(thread)
    assert "Resolved" in message.blocks[0]["text"]["text"] and "resolved after 22 min" in str(message.blocks)
    note = resolved_text(thread, thread.members[0])
    assert "after 22 min" in note and A1.rsplit("/", 1)[-1] in note


def test_an_alert_without_a_job_says_so_instead_of_triaging() -> None:
    text = str(parent_message(posted(opened(replace(ROUTING, job=None)))).blocks)
    assert "No job found" in text and "No triage" in text


def test_a_healthy_verdict_while_firing_says_the_checks_may_not_see_it() -> None:
    thread = finish_triage(posted(), TriageResult("ok", "healthy"))
    assert "nothing wrong in its window while the alert is firing" in str(parent_message(thread).blocks)


def test_a_huge_triage_report_is_cut_to_slack_limits_and_says_so() -> None:
    blocks = tuple({"type": "section", "block_id": f"b{i}", "text": {"type": "mrkdwn", "text": "x" * 2900}}
                   for i in range(60))
    message = parent_message(finish_triage(posted(), TriageResult("t", "oom")), blocks)
    assert check_blocks(message.blocks) == []
    assert "not shown" in str(message.blocks) and ACK_ACTION in str(message.blocks)


def test_text_from_the_alert_cannot_mention_anyone_or_forge_links() -> None:
    body = metric_alert(A1, "<!channel> <https://evil.example|click>", job_id("orders-processor"))
    body["data"]["essentials"]["description"] = "<@U0VICTIM> & friends"
    hostile = parse_alert(body)
    thread = apply_alert(open_thread(A1, hostile, ROUTING, T0, facts_of(hostile)), hostile, T0).thread
    message = parent_message(thread)
    rendered = str(message.blocks[1:]) + message.text
    assert "<!channel>" not in rendered and "<@U0VICTIM>" not in rendered and "<https://evil" not in rendered


def test_an_escalation_after_downtime_names_the_tier_due_and_the_one_missed() -> None:
    text = escalation_text(posted(), tier=2, previous=0)
    assert "after 30 min" in text and "<@U0MANAGER>" in text and "<!subteam^S0LEADS1>" in text
    assert "escalation 2 of 2" in text and "end of the chain" in text


# --- the store's copy ----------------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["fire1", "fire2", "resolve1", "resolve2", "post", "ack", "triage", "esc1"]),
                max_size=12))
def test_a_thread_reads_back_from_the_store_exactly_as_it_was(steps: list[str]) -> None:
    thread = opened()
    for step in steps:
        if step.startswith(("fire", "resolve")):
            ident = A1 if step.endswith("1") else A2
            thread = apply_alert(thread, alert(ident, "Fired" if step.startswith("fire") else "Resolved"), T0).thread
        elif step == "post" and thread.ts is None:
            thread = posted(thread)
        elif step == "ack":
            thread = acknowledge(thread, "U0ONCALL", T0) or thread
        elif step == "triage":
            thread = finish_triage(thread, TriageResult("t", "oom"))
        elif step == "esc1":
            thread = escalate(thread, 1)
        assert thread_from_dict(thread_to_dict(thread)) == thread
        assert check_blocks(parent_message(thread).blocks) == []
        assert [m.alert_id for m in thread.members].count(A1) <= 1
        assert all(Condition(c) for m in thread.members for c in m.seen)


def test_the_pure_core_of_alerts_never_imports_an_sdk() -> None:
    package = Path(bot.alerts.__file__).parent
    pure = ["schema.py", "routing.py", "grouping.py", "thread.py", "tiers.py", "codec.py"]
    for name in pure:
        tree = ast.parse((package / name).read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module} | {
            a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not [m for m in imported if m.startswith(("slack", "azure", "starlette", "sqlalchemy", "bot.store",
                                                         "bot.slack", "bot.azure"))], name
