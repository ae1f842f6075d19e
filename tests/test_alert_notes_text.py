"""The words of an alert's thread: how long an alert lasted, how many of the thread's alerts are resolved,
an escalation tier that no longer exists, and the condition lines of metric, log and activity log alerts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts.render import escalation_text, facts_of, parent_message, resolved_text
from bot.alerts.schema import parse_alert
from bot.alerts.thread import Member, Routing, Thread, apply_alert, open_thread
from tests.fixtures.alerts.payloads import activity_alert, alert_id, job_id, log_alert, metric_alert

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
A1, A2 = alert_id("notes-1"), alert_id("notes-2")
ROUTING = Routing("C0ORDERS", "catalog", job="orders-processor", primary="<!subteam^S0ORDERS>",
                  chain=("<!subteam^S0LEADS1>", "<@U0MANAGER>"), escalate_after_s=900)


def thread(*members: Member) -> Thread:
    first = parse_alert(metric_alert(A1, "failed-executions", job_id("orders-processor")))
    opened = apply_alert(open_thread(A1, first, ROUTING, T0, facts_of(first)), first, T0).thread
    return replace(opened, members=members) if members else opened


@pytest.mark.parametrize(("lasted", "said"), [
    (timedelta(seconds=42), "after 42 s"),
    (timedelta(minutes=7, seconds=5), "after 7 min"),
    (timedelta(hours=2), "after 2 h."),
    (timedelta(hours=3, minutes=5), "after 3 h 5 min"),
    (timedelta(days=3, hours=2, minutes=9), "after 3 d 2 h"),
])
def test_a_resolved_note_says_how_long_the_alert_lasted(lasted: timedelta, said: str) -> None:
    member = Member(A1, T0, T0 + lasted)
    assert said in resolved_text(thread(member), member)


def test_a_resolved_note_without_a_sensible_firing_time_says_no_duration() -> None:
    member = Member(A1, T0, T0 - timedelta(minutes=1))  # clocks disagree: no negative durations
    assert "after" not in resolved_text(thread(member), member)


def test_in_a_thread_of_several_alerts_the_note_counts_the_resolved_ones() -> None:
    from bot.alerts.schema import Condition

    done = Member(A1, T0, T0 + timedelta(minutes=5), seen=(Condition.FIRED, Condition.RESOLVED))
    firing = Member(A2, T0, seen=(Condition.FIRED,))
    assert resolved_text(thread(done, firing), done).endswith(" 1 of 2 alerts in this thread are resolved.")
    parent = parent_message(thread(done, firing))
    assert "1 of 2 alerts resolved" in str(parent.blocks)


def test_an_escalation_tier_beyond_the_owners_chain_says_so_and_pings_nobody() -> None:
    text = escalation_text(thread(), 3, 2)
    assert text == ":rotating_light: Escalation tier 3 is not in the owners' chain any more."
    assert "<@" not in text and "<!subteam" not in text


def test_an_escalation_names_the_tier_and_how_long_nobody_acknowledged() -> None:
    text = escalation_text(thread(), 2, 1)
    assert "after 30 min" in text and "<@U0MANAGER>" in text and "(escalation 2 of 2)" in text


def test_a_log_alert_shows_its_query_as_the_condition() -> None:
    body = log_alert(alert_id("log"), "oom-kills", job="orders-processor",
                     query="ContainerAppSystemLogs_CL | where Reason_s == 'OOMKilled'")
    assert facts_of(parse_alert(body)).criteria == (
        "query ContainerAppSystemLogs_CL | where Reason_s == 'OOMKilled' (Count) LowerThan 1 — value 0 "
        "[JobName_s=orders-processor]",)


def test_an_activity_log_alert_shows_the_operation_and_who_did_it() -> None:
    facts = facts_of(parse_alert(activity_alert(alert_id("act"), "job-changed", job_id("orders-processor"))))
    # No metric criteria: the operation is the condition.
    assert facts.criteria == ("Microsoft.App/jobs/write by deployer@contoso.com (Succeeded)",)
