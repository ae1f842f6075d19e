"""Finding the job and the channel, grouping alerts into threads, choosing the escalation tier (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.alerts.grouping import group_from_dict, group_to_dict, place
from bot.alerts.routing import JobTarget, choose_route, find_job, group_key
from bot.alerts.schema import parse_alert
from bot.alerts.thread import Ack, Facts, Routing, Thread
from bot.alerts.tiers import due_tier, escalation_step, first_due
from bot.config import parse_config
from tests.fixtures.alerts.payloads import WORKSPACE, activity_alert, alert_id, job_id, log_alert, metric_alert, sample

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
CATALOG = parse_config({
    "slack": {"alert_channel": "C0DEFAULT"},
    "jobs": {
        "orders-processor": {"resource_group": "rg-orders", "channel": "C0ORDERS"},
        "customer-notifier": {"resource_group": "rg-notify"},
        "orders": {},
    },
})


# --- the job -----------------------------------------------------------------------------------------------

def test_a_metric_alert_on_a_job_names_it_by_its_target() -> None:
    job = find_job(parse_alert(metric_alert(alert_id("a"), "r", job_id("Orders-Processor"))), CATALOG)
    assert job == JobTarget("orders-processor", "rg-orders", "11111111-2222-3333-4444-555555555555", "alert target")


def test_the_official_sample_on_a_virtual_machine_names_no_job() -> None:
    assert find_job(parse_alert(sample()), CATALOG) is None


@pytest.mark.parametrize("dimension", ["JobName", "JobName_s", "jobName"])
def test_a_log_alert_on_a_workspace_names_the_job_in_a_dimension(dimension: str) -> None:
    alert = parse_alert(log_alert(alert_id("l"), "backoff", job="orders-processor", dimension=dimension))
    assert alert.target_ids == (WORKSPACE.lower(),)
    job = find_job(alert, CATALOG)
    assert job is not None and job.name == "orders-processor" and job.found_by == f"dimension {dimension}"


def test_a_resource_id_dimension_names_the_job_with_its_group() -> None:
    alert = parse_alert(log_alert(alert_id("l"), "backoff", job=job_id("customer-notifier", "rg-notify").lower(),
                                  dimension="_ResourceId"))
    job = find_job(alert, CATALOG)
    assert job is not None and (job.name, job.resource_group) == ("customer-notifier", "rg-notify")


def test_a_dimension_that_is_no_job_name_is_not_taken_for_one() -> None:
    alert = parse_alert(log_alert(alert_id("l"), "backoff", job="x'; drop table", query="Heartbeat"))
    assert find_job(alert, CATALOG) is None


def test_without_dimensions_the_one_catalog_job_named_in_the_query_is_the_job() -> None:
    alert = parse_alert(log_alert(alert_id("l"), "backoff", job=None,
                                  query="ContainerAppSystemLogs_CL | where JobName_s == 'customer-notifier'"))
    job = find_job(alert, CATALOG)
    assert job is not None and job.name == "customer-notifier" and job.found_by == "catalog"


def test_a_catalog_name_inside_a_longer_one_is_not_a_second_candidate() -> None:
    alert = parse_alert(log_alert(alert_id("l"), "orders-processor backoff", job=None, query="x"))
    assert find_job(alert, CATALOG) == JobTarget("orders-processor", "rg-orders", None, "catalog")


def test_two_catalog_jobs_named_is_a_guess_so_no_job() -> None:
    alert = parse_alert(log_alert(alert_id("l"), "orders-processor and customer-notifier", job=None, query="x"))
    assert find_job(alert, CATALOG) is None


def test_an_activity_log_alert_on_a_job_names_it() -> None:
    job = find_job(parse_alert(activity_alert(alert_id("a"), "changed", job_id("customer-notifier"))), CATALOG)
    assert job is not None and job.name == "customer-notifier"


# --- the channel -------------------------------------------------------------------------------------------

def test_the_catalog_channel_wins_over_the_tag() -> None:
    route = choose_route(JobTarget("orders-processor"), {"jobbot-channel": "C0TAGGED"}, CATALOG, "C0ENV")
    assert (route.channel, route.source) == ("C0ORDERS", "catalog")


def test_the_tag_is_used_when_the_catalog_has_no_channel() -> None:
    route = choose_route(JobTarget("customer-notifier"), {"JobBot-Channel": "#C0TAGGED"}, CATALOG, "C0ENV")
    assert (route.channel, route.source) == ("C0TAGGED", "tag")


def test_then_the_environment_default_then_the_config_default() -> None:
    assert choose_route(JobTarget("customer-notifier"), {}, CATALOG, "C0ENV").channel == "C0ENV"
    assert choose_route(None, None, CATALOG, None).channel == "C0DEFAULT"


def test_with_no_channel_anywhere_the_alert_is_unroutable() -> None:
    route = choose_route(JobTarget("x"), {}, parse_config({}), None)
    assert (route.channel, route.source) == (None, "none")


# --- grouping ----------------------------------------------------------------------------------------------

def test_alerts_of_one_rule_on_one_job_share_a_group_key_and_others_never_do() -> None:
    a = parse_alert(metric_alert(alert_id("1"), "failed", job_id("orders-processor")))
    b = parse_alert(metric_alert(alert_id("2"), "failed", job_id("orders-processor")))
    other_rule = parse_alert(metric_alert(alert_id("3"), "slow", job_id("orders-processor")))
    other_job = parse_alert(metric_alert(alert_id("4"), "failed", job_id("customer-notifier")))
    keys = [group_key(x, find_job(x, CATALOG)) for x in (a, b, other_rule, other_job)]
    assert keys[0] == keys[1] and len(set(keys)) == 3


def test_alerts_about_no_known_job_never_share_a_group() -> None:
    a, b = (parse_alert(log_alert(alert_id(s), "r", job=None, query="x")) for s in "ab")
    assert group_key(a, None) != group_key(b, None)


def test_a_second_alert_within_the_window_joins_and_one_after_it_opens_a_thread() -> None:
    window = timedelta(minutes=30)
    group, first = place(None, "a1", T0, window)
    group, second = place(group, "a2", T0 + timedelta(minutes=29), window)
    group, third = place(group, "a3", T0 + timedelta(minutes=31), window)
    assert first == second == "a1" and third == "a3"
    group, late = place(group, "a4", T0 + timedelta(minutes=40), window)
    assert late == "a3", "the window counts from the thread's first alert"
    _, early = place(group, "a5", T0 + timedelta(minutes=5), window)
    assert early == "a3", "deliveries arrive out of order: within the window either side"


def test_ungroupable_alerts_always_open_their_own_thread() -> None:
    group, _ = place(None, "a1", T0, timedelta(minutes=30), groupable=False)
    assert place(group, "a2", T0, timedelta(minutes=30), groupable=False)[1] == "a2"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 60 * 24), max_size=30))
def test_a_thread_never_spans_more_than_the_window_from_its_first_alert(minutes: list[int]) -> None:
    window = timedelta(minutes=30)
    group = None
    opened: dict[str, datetime] = {}
    for i, offset in enumerate(minutes):
        fired = T0 + timedelta(minutes=offset)
        stored = group_from_dict(group_to_dict(group)) if group else None
        group, thread = place(stored, f"a{i}", fired, window)
        assert abs(fired - opened.setdefault(thread, fired)) <= window


# --- escalation tiers --------------------------------------------------------------------------------------

def _thread(**changes: object) -> Thread:
    routing = Routing("C0ORDERS", "catalog", job="orders-processor", primary="<!subteam^S0ORDERS>",
                      chain=("<!subteam^S0LEADS1>", "<@U0MANAGER>", "<@U0DIRECTOR>"), escalate_after_s=900)
    base = Thread("a1", Facts("r", "Sev1", "Metric", "Platform", "", None), routing, opened_at=T0)
    return base.__class__(**{**{f: getattr(base, f) for f in base.__dataclass_fields__}, **changes})


@pytest.mark.parametrize(("minutes", "tier"), [(0, 0), (14, 0), (15, 1), (29, 1), (30, 2), (44, 2), (45, 3), (600, 3)])
def test_the_tier_due_is_one_per_full_delay_up_to_the_end_of_the_chain(minutes: int, tier: int) -> None:
    assert due_tier(T0, timedelta(minutes=15), 3, T0 + timedelta(minutes=minutes)) == tier


def test_after_downtime_the_tier_due_now_is_called_not_the_missed_ones_in_turn() -> None:
    step = escalation_step(_thread(escalated=0), T0 + timedelta(minutes=35))
    assert step.tier == 2 and step.next_at == T0 + timedelta(minutes=45)


def test_a_tier_already_called_is_not_called_again() -> None:
    step = escalation_step(_thread(escalated=2), T0 + timedelta(minutes=40))
    assert step.tier is None and step.next_at == T0 + timedelta(minutes=45)


def test_acknowledged_or_resolved_threads_escalate_no_further() -> None:
    acked = _thread(ack=Ack("U0ONCALL", T0))
    assert escalation_step(acked, T0 + timedelta(hours=1)) == escalation_step(acked, T0)
    assert escalation_step(acked, T0 + timedelta(hours=1)).next_at is None


def test_the_chain_ends_and_so_does_the_timer() -> None:
    assert escalation_step(_thread(escalated=3), T0 + timedelta(hours=5)).next_at is None
    assert first_due(_thread()) == T0 + timedelta(minutes=15)
    no_chain = _thread(routing=Routing("C0", "catalog", job="j"))
    assert first_due(no_chain) is None
