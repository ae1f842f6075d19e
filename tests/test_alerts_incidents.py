"""Environment-wide incidents (pure): when jobs sharing a dependency fail together it is one incident,
named by the most specific shared resource — on the alerts' own times, so the clock is the test's."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.alerts.codec import thread_from_dict, thread_to_dict
from bot.alerts.incidents import (
    Failing,
    Incident,
    IncidentPolicy,
    Kind,
    Resource,
    Seen,
    close,
    decide,
    dependencies_of,
    fleet_from_dict,
    fleet_to_dict,
    record,
    reopen,
)
from bot.alerts.render import facts_of, parent_message
from bot.alerts.schema import Alert, parse_alert
from bot.alerts.thread import (
    INCIDENT_NOTE,
    MEMBER_TRIAGE,
    PAGE_NOTE,
    IncidentFacts,
    Posted,
    Routing,
    Thread,
    add_member,
    apply_alert,
    fold,
    member_triage,
    open_incident,
    open_thread,
    resolve_member,
    unfinished,
)
from bot.alerts.tiers import Step, escalation_step, first_due
from bot.config import parse_config
from bot.errors import ConfigError
from bot.model import Access, AccessKind, Identity, Job, JobRef, RegistryRef, SecretRef
from tests.fixtures.alerts.payloads import job_id, metric_alert

T0 = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
POLICY = IncidentPolicy()  # 3 jobs in 10 min
ENV = Resource(Kind.ENVIRONMENT, "/subscriptions/s/resourcegroups/rg/providers/microsoft.app/managedenvironments/prod")
REGISTRY = Resource(Kind.REGISTRY, "shared.azurecr.io")
VAULT = Resource(Kind.KEY_VAULT, "kv-shared")
OTHER_REGISTRY = Resource(Kind.REGISTRY, "other.azurecr.io")


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def failing(job: str, at: float, *resources: Resource) -> Failing:
    return Failing(job, minutes(at), frozenset(resources or (ENV, REGISTRY)))


def test_three_jobs_sharing_a_registry_within_ten_minutes_are_one_incident_named_by_the_registry() -> None:
    recent = [failing("a", 0), failing("b", 4)]
    third = failing("c", 9)
    incident = decide(third, [*recent, third], POLICY)
    # The registry, not the environment all three also share: it says more about the cause.
    assert incident == Incident(REGISTRY, ("a", "b", "c"))
    assert incident.resource.describe() == "registry shared.azurecr.io"


def test_two_jobs_are_not_an_incident_and_neither_are_three_firings_of_one_job() -> None:
    assert decide(failing("b", 3), [failing("a", 0)], POLICY) is None
    assert decide(failing("a", 6), [failing("a", 0), failing("a", 3)], POLICY) is None


def test_jobs_failing_further_apart_than_the_window_are_separate_failures() -> None:
    # a at 0, b at 9, c at 18: no ten minutes hold all three.
    assert decide(failing("c", 18), [failing("a", 0), failing("b", 9)], POLICY) is None
    assert decide(failing("b", 9), [failing("a", 0), failing("c", 18)], POLICY) is None
    # Out of order: the late delivery of an alert that fired first still counts on its own firing time.
    assert decide(failing("a", 0), [failing("b", 9), failing("c", 10)], POLICY) == Incident(REGISTRY, ("a", "b", "c"))


def test_only_the_dependency_shared_by_enough_jobs_names_the_incident() -> None:
    recent = [failing("a", 0, ENV, REGISTRY), failing("b", 1, ENV, OTHER_REGISTRY)]
    # Three jobs share only the environment: that is the incident.
    assert decide(failing("c", 2, ENV, VAULT), recent, POLICY) == Incident(ENV, ("a", "b", "c"))
    assert ENV.describe() == "environment prod"


def test_an_unrelated_job_does_not_join() -> None:
    recent = [failing("a", 0), failing("b", 1), failing("c", 2)]
    assert decide(failing("lonely", 3, Resource(Kind.ENVIRONMENT, "other-env"), OTHER_REGISTRY), recent, POLICY) is None


def test_an_open_incident_takes_any_later_job_sharing_its_resource_and_the_policy_is_configurable() -> None:
    open_incident = Incident(REGISTRY, ("a", "b", "c"))
    late = failing("d", 40, REGISTRY)  # long after the window: the incident is still open
    assert decide(late, [], POLICY, [open_incident]) == Incident(REGISTRY, ("a", "b", "c", "d"))
    assert decide(failing("x", 40, VAULT), [], POLICY, [open_incident]) is None
    strict = IncidentPolicy(min_jobs=4, window=timedelta(minutes=2))
    assert decide(failing("c", 2), [failing("a", 0), failing("b", 1)], strict) is None
    assert decide(failing("d", 2), [failing("a", 0), failing("b", 1), failing("c", 1.5)], strict) is not None


def test_a_jobs_shared_dependencies_come_from_the_job_as_read() -> None:
    ref = JobRef("orders", "rg", "s", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/jobs/orders")
    job = Job(ref=ref, location="westeurope", environment_id=ENV.name.upper(), trigger_type="Event",
              replica_timeout_s=None, replica_retry_limit=None, parallelism=1, max_executions=1,
              polling_interval_s=30, rules=(), containers=(), tags={},
              identities=(Identity("system-assigned", "p0"),
                          Identity("id-orders", "p1", "/subscriptions/s/x/id-orders")),
              access=(Access(AccessKind.SERVICE_BUS, "sb-orders", "p1"),
                      Access(AccessKind.KEY_VAULT, "KV-Shared", "p1")),
              secrets=(SecretRef("db", key_vault=True, vault="kv-shared"),),
              registries=(RegistryRef("Shared.azurecr.io", identity="id-orders"),))
    assert dependencies_of(job) == {ENV, REGISTRY, VAULT, Resource(Kind.IDENTITY, "id-orders"),
                                    Resource(Kind.NAMESPACE, "sb-orders")}


def test_incident_settings_are_validated() -> None:
    config = parse_config({"alerts": {"incident_min_jobs": 5, "incident_window_min": 15,
                                      "platform_owners": {"Prod": "S0PLATFORM"}}})
    assert (config.alerts.incident_min_jobs, config.alerts.incident_window_min) == (5, 15)
    assert config.alerts.platform_owners == {"prod": "S0PLATFORM"}
    assert (parse_config({}).alerts.incident_min_jobs, parse_config({}).alerts.incident_window_min) == (3, 10)
    with pytest.raises(ConfigError) as raised:
        parse_config({"alerts": {"incident_min_jobs": 1, "incident_window_min": 0,
                                 "platform_owners": {"prod": "@platform"}}})
    assert len(raised.value.problems) == 3
    assert any("platform_owners" in p for p in raised.value.problems)


_resources = st.sets(st.sampled_from([ENV, REGISTRY, VAULT, OTHER_REGISTRY]), min_size=1).map(frozenset)
_failings = st.builds(Failing, st.sampled_from("abcdef"), st.integers(0, 30).map(minutes), _resources)


@settings(max_examples=200, deadline=None)
@given(st.lists(_failings, min_size=1, max_size=10), st.randoms(use_true_random=False))
def test_the_decision_does_not_depend_on_the_order_alerts_arrived_in(alerts: list[Failing], rnd: random.Random) -> None:
    shuffled = list(alerts)
    rnd.shuffle(shuffled)
    for alert in alerts:
        decided = decide(alert, alerts, POLICY)
        assert decided == decide(alert, shuffled, POLICY)
        if decided is not None:
            # Enough distinct jobs, the alert's own among them, all sharing the resource named.
            assert alert.job in decided.jobs and len(decided.jobs) >= POLICY.min_jobs
            assert decided.resource in alert.resources
            assert all(any(f.job == job and decided.resource in f.resources for f in alerts) for job in decided.jobs)


def test_jobs_already_in_an_open_incident_make_no_second_one() -> None:
    open_incident = Incident(REGISTRY, ("a", "b", "c"))
    recent = [failing("a", 0, ENV, REGISTRY), failing("b", 1, ENV, REGISTRY)]
    # "u" shares only the environment with them: the registry incident explains a and b, so u is alone.
    assert decide(failing("u", 2, ENV), recent, POLICY, [open_incident]) is None
    assert decide(failing("u", 2, ENV), recent, POLICY) == Incident(ENV, ("a", "b", "u"))


# --- the fleet record and the incident thread -----------------------------------------------------------


def seen(job: str, at: float, *resources: Resource) -> Seen:
    return Seen(f"alert-{job}-{at:g}", failing(job, at, *resources), "Sev2")


def test_the_fleet_record_opens_one_incident_then_joins_it_and_closes_it() -> None:
    fleet, incident, opened = record(None, seen("a", 0), POLICY)
    assert incident is None and not opened
    fleet, incident, opened = record(fleet, seen("b", 2), POLICY)
    fleet, incident, opened = record(fleet, seen("c", 4), POLICY)
    assert opened and incident is not None and incident.incident == Incident(REGISTRY, ("a", "b", "c"))
    again, same, reopened = record(fleet, seen("c", 4), POLICY)  # the same alert delivered again
    assert same == incident and not reopened and again == fleet
    fleet, joined, opened = record(fleet, seen("d", 30, REGISTRY), POLICY)
    assert not opened and joined is not None and joined.key == incident.key and "d" in joined.incident.jobs
    assert fleet_from_dict(json.loads(json.dumps(fleet_to_dict(fleet)))) == fleet
    closed = close(fleet, incident.key)
    assert closed is not None and closed.open == () and close(closed, incident.key) is None
    # An alert joined while it was being closed: it opens again, once, with the same key.
    reopened_fleet = reopen(closed, joined)
    assert reopened_fleet is not None and reopened_fleet.open == (joined,) and reopen(reopened_fleet, joined) is None


def _thread(key: str) -> Thread:
    routing = Routing(channel="C0ORDERS", channel_source="catalog", job="a", chain=("S0LEAD",),
                      escalate_after_s=60)
    opened = open_thread(key, metric(key), routing, T0, facts_of(metric(key)))
    return apply_alert(opened, metric(key), T0, job="a").thread


def metric(ident: str, condition: str = "Fired") -> Alert:
    return parse_alert(metric_alert(ident, "failed-executions", job_id("a"), condition=condition))


def test_an_incident_thread_lists_its_jobs_owes_each_triage_and_one_page_and_resolves_with_all() -> None:
    facts = IncidentFacts(REGISTRY.kind.value, REGISTRY.name, ("a",), "<!subteam^S0PLATFORM>")
    routing = Routing(channel="C0ALERTS", channel_source="default", primary=facts.owner)
    incident = open_incident("incident:1", facts_of(metric("x-a")), facts, routing, T0)
    incident = apply_alert(incident, metric("x-a"), T0, job="a").thread
    incident = add_member(incident, "x-b", "b", T0, "Sev2")
    assert add_member(incident, "x-b", "b", T0, "Sev2") == incident
    keys = [e.key for e in incident.effects]
    assert keys.count(PAGE_NOTE) == 1 and member_triage("x-a") in keys and member_triage("x-b") in keys
    assert incident.incident is not None and incident.incident.jobs == ("a", "b")
    assert first_due(incident) is None  # the page is the one call: no escalation chain
    text = json.dumps(parent_message(incident).blocks)
    assert "registry shared.azurecr.io" in text and "*a*" in text and "*b*" in text and "S0PLATFORM" in text
    incident = apply_alert(incident, metric("x-a", "Resolved"), T0, job="a").thread
    assert not incident.resolved
    incident = resolve_member(incident, "x-b", T0) or incident
    assert incident.resolved and "incident resolved" in parent_message(incident).text
    assert thread_from_dict(json.loads(json.dumps(thread_to_dict(incident)))) == incident


def test_a_second_alert_of_a_job_in_the_incident_is_a_line_and_not_a_second_triage() -> None:
    facts = IncidentFacts(REGISTRY.kind.value, REGISTRY.name, ("a",), "<!subteam^S0PLATFORM>")
    routing = Routing(channel="C0ALERTS", channel_source="default", primary=facts.owner)
    incident = open_incident("incident:1", facts_of(metric("x-a")), facts, routing, T0)
    incident = apply_alert(incident, metric("x-a"), T0, job="a").thread
    incident = apply_alert(incident, metric("y-a"), T0, job="A").thread  # another rule on the same job
    incident = add_member(incident, "z-a", "a", T0, "Sev2")  # and an earlier alert of it, folded in
    keys = [e.key for e in incident.effects]
    assert [k for k in keys if k.startswith(MEMBER_TRIAGE)] == [member_triage("x-a")]
    assert {m.alert_id for m in incident.members} == {"x-a", "y-a", "z-a"}, "each alert is still a line"
    assert not incident.resolved
    for alert_id in ("x-a", "y-a", "z-a"):
        incident = resolve_member(incident, alert_id, T0) or incident
    assert incident.resolved


def test_a_folded_thread_escalates_no_more_and_is_never_posted_if_it_was_not_yet() -> None:
    pending = _thread("alert-1")
    assert escalation_step(pending, T0 + timedelta(hours=1)).tier == 1
    folded = fold(pending, "incident:1")
    assert folded is not None and folded.posted is Posted.IN_INCIDENT and not unfinished(folded)
    assert escalation_step(folded, T0 + timedelta(hours=1)) == Step(None, None)
    assert fold(folded, "incident:1") is None
    posted = replace(pending, posted=Posted.POSTED, channel="C0ORDERS", ts="1.0", shown=pending.view)
    pointed = fold(posted, "incident:1")
    assert pointed is not None and pointed.effect(INCIDENT_NOTE) is not None and pointed.shown < pointed.view
    assert "Part of an environment-wide incident" in json.dumps(parent_message(pointed).blocks)
    assert escalation_step(pointed, T0 + timedelta(hours=1)) == Step(None, None)
    assert thread_from_dict(json.loads(json.dumps(thread_to_dict(pointed)))) == pointed
