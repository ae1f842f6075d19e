"""Flapping (pure): when an alert that keeps firing and resolving counts as flapping, when it stops, and
what its thread owes then — on the alerts' own times, so the clock is whatever the test says."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.alerts.codec import thread_from_dict, thread_to_dict
from bot.alerts.flapping import (
    FIRED,
    RESOLVED,
    Event,
    FlapPolicy,
    Flaps,
    Verdict,
    flaps_from_dict,
    flaps_to_dict,
    observe,
    still_flapping,
)
from bot.alerts.grouping import Group, place
from bot.alerts.render import facts_of, parent_message
from bot.alerts.schema import Alert, parse_alert
from bot.alerts.thread import FLAPPING_NOTE, Flapping, Routing, apply_alert, joined_note, open_thread, resolved_note
from bot.config import parse_config
from bot.errors import ConfigError
from tests.fixtures.alerts.payloads import alert_id, job_id, metric_alert

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
POLICY = FlapPolicy()  # 3 firings in 30 min


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def cycles(*fired_at: float, resolve_after: float = 4) -> list[Event]:
    """Each firing (a new alert id, as Azure makes one per firing) followed by its resolve."""
    events: list[Event] = []
    for n, at in enumerate(fired_at):
        ident = f"alert-{at:g}-{n}"
        events += [Event(ident, FIRED, minutes(at)), Event(ident, RESOLVED, minutes(at + resolve_after))]
    return events


def replay(events: list[Event], policy: FlapPolicy = POLICY, thread: str = "thread-1") -> list[Verdict]:
    flaps: Flaps | None = None
    verdicts = []
    for event in events:
        verdict = observe(flaps, event, policy, thread)
        flaps = verdict.flaps
        verdicts.append(verdict)
    return verdicts


def test_the_third_firing_in_30_minutes_with_resolves_between_is_flapping() -> None:
    verdicts = replay(cycles(0, 8, 16))
    assert [v.flapping for v in verdicts] == [False, False, False, False, True, True]
    third = verdicts[4]
    assert third.started and third.fired == 3 and third.flaps.since == minutes(16)
    assert third.flaps.thread == "thread-1"
    assert not verdicts[5].started, "it starts once"


def test_alerts_firing_together_without_resolving_are_a_group_not_a_flap() -> None:
    together = [Event(f"a{n}", FIRED, minutes(n)) for n in range(6)]
    assert not any(v.flapping for v in replay(together))


def test_firings_spread_wider_than_the_window_are_not_flapping() -> None:
    assert not any(v.flapping for v in replay(cycles(0, 20, 40, 60, 80)))


def test_the_count_and_the_window_are_the_policys() -> None:
    events = cycles(0, 30, 60, 90)
    assert not any(v.flapping for v in replay(events))
    wide = replay(events, FlapPolicy(count=4, window=timedelta(hours=2)))
    assert [v.flapping for v in wide][-2:] == [True, True] and not any(v.flapping for v in wide[:-2])
    assert replay(cycles(0, 5), FlapPolicy(count=2))[2].started


def test_repeated_deliveries_count_once_whatever_their_order() -> None:
    events = cycles(0, 8)
    repeated = [events[0], events[0], events[1], events[0], events[2], events[1], events[3], events[2]]
    verdicts = replay(repeated)
    assert not any(v.flapping for v in verdicts)
    assert [v.changed for v in verdicts] == [True, False, True, False, True, False, True, False]


def test_it_keeps_flapping_until_quiet_for_the_window_then_behaves_normally() -> None:
    verdicts = replay([*cycles(0, 8, 16), Event("late", FIRED, minutes(40))])
    assert verdicts[-1].flapping, "20 minutes after the last resolve is not quiet for 30"
    flaps = verdicts[-1].flaps
    assert still_flapping(flaps, minutes(69), POLICY) is flaps
    assert still_flapping(flaps, minutes(70), POLICY) is None, "30 min of quiet: over"
    after = observe(flaps, Event("fresh", FIRED, minutes(71)), POLICY, "thread-2")
    assert not after.flapping and after.flaps.thread is None and after.fired == 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from([FIRED, RESOLVED]), st.integers(0, 120)),
                max_size=30), st.randoms(use_true_random=False))
def test_the_verdict_does_not_depend_on_the_order_deliveries_arrive_in(raw: list[tuple[int, str, int]],
                                                                        rng: object) -> None:
    """Deliveries arrive out of order and more than once; what the history says about the end state of a
    window that was never quiet is the same (the alert's own times decide, not the arrival order)."""
    seen: dict[tuple[str, str], Event] = {}
    for ident, condition, at in raw:
        seen.setdefault((f"a{ident}", condition), Event(f"a{ident}", condition, minutes(at)))
    events = sorted(seen.values(), key=lambda e: e.at)
    if any(b.at - a.at >= POLICY.window for a, b in itertools.pairwise(events)):
        return  # a quiet window resets the history: then order matters by design
    shuffled = list(seen.values())
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    in_order, out_of_order = replay(events), replay(shuffled + shuffled[:3])
    assert (in_order[-1].flaps.events if in_order else ()) == (out_of_order[-1].flaps.events if out_of_order else ())


def test_the_history_survives_the_store() -> None:
    flaps = replay(cycles(0, 8, 16))[-1].flaps
    assert flaps_from_dict(json.loads(json.dumps(flaps_to_dict(flaps)))) == flaps
    assert flaps_from_dict(None) is None


def test_a_flapping_alert_joins_the_thread_it_flaps_in_even_after_the_group_window() -> None:
    group = Group("thread-1", minutes(0))
    assert place(group, "new", minutes(45), timedelta(minutes=30))[1] == "new", "normally: a thread of its own"
    assert place(group, "new", minutes(45), timedelta(minutes=30), flapping_in="thread-1")[1] == "thread-1"


# --- the thread ------------------------------------------------------------------------------------------

ROUTING = Routing("C0ORDERS", "catalog", job="orders-00", primary="<!subteam^S0ORDERS>",
                  chain=("<!subteam^S0LEADS1>",), escalate_after_s=900)


def alert(ident: str, condition: str = "Fired") -> Alert:
    return parse_alert(metric_alert(alert_id(ident), "failed-executions", job_id("orders-00"), condition=condition))


def test_a_flapping_thread_owes_one_note_and_no_note_per_firing_or_resolve() -> None:
    first = alert("f1")
    thread = apply_alert(open_thread(alert_id("f1"), first, ROUTING, T0, facts_of(first)), first, T0).thread
    thread = apply_alert(thread, alert("f1", "Resolved"), T0).thread
    second = apply_alert(thread, alert("f2"), T0).thread
    assert second.effect(joined_note(alert_id("f2"))) is not None, "before flapping: a note per firing"
    flapping = Flapping(3, 30, minutes(16))
    thread = apply_alert(second, alert("f3"), T0, flapping=flapping).thread
    thread = apply_alert(thread, alert("f3", "Resolved"), T0, flapping=flapping).thread
    later = Flapping(4, 30, minutes(16))
    thread = apply_alert(thread, alert("f4"), T0, flapping=later).thread
    keys = [e.key for e in thread.effects]
    assert keys.count(FLAPPING_NOTE) == 1
    assert joined_note(alert_id("f3")) not in keys and joined_note(alert_id("f4")) not in keys
    assert resolved_note(alert_id("f3")) not in keys
    shown = json.dumps(parent_message(thread).blocks)
    assert "flapping: fired 4 times in 30 min" in shown
    assert thread_from_dict(json.loads(json.dumps(thread_to_dict(thread)))) == thread


def test_a_thread_stored_before_flapping_existed_reads_as_not_flapping() -> None:
    first = alert("old")
    stored = thread_to_dict(apply_alert(open_thread(alert_id("old"), first, ROUTING, T0, facts_of(first)),
                                        first, T0).thread)
    del stored["flapping"]
    assert thread_from_dict(stored).flapping is None


# --- configuration ---------------------------------------------------------------------------------------

def test_the_flapping_settings_are_validated_with_every_problem_at_once() -> None:
    config = parse_config({"alerts": {"flap_count": 4, "flap_window_min": 45}})
    assert (config.alerts.flap_count, config.alerts.flap_window_min) == (4, 45)
    assert (parse_config({}).alerts.flap_count, parse_config({}).alerts.flap_window_min) == (3, 30)
    with pytest.raises(ConfigError) as raised:
        parse_config({"alerts": {"flap_count": 1, "flap_window_min": 0}})
    assert len(raised.value.problems) == 2
    assert any("flap_count" in p for p in raised.value.problems)
    with pytest.raises(ConfigError):
        parse_config({"alerts": {"flap_count": "three"}})
