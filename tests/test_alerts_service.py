"""Where alerts go when the obvious way is not there: tags, the default channel, a channel that refuses the
bot, no channel at all, a job Azure does not know; Slack failing; the webhook's own edges."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from bot.alerts.feature import scheduler_clock
from bot.alerts.intake import MAX_BODY, AccessLogRedaction, Webhook
from bot.alerts.storage import DELIVERY
from bot.alerts.worker import TimerWorker
from bot.clock import FixedClock, ManualClock, SystemClock
from bot.config import parse_config
from bot.errors import ConfigError
from bot.store import Store, StoreUnavailable, Timer
from tests.fakes import FakeJobs, make_job, readers
from tests.fixtures.alerts.inprocess import T0, alerts_feature, audit_of
from tests.fixtures.alerts.payloads import alert_id, job_id, log_alert, metric_alert
from tests.support.db import sqlite_url
from tests.support.slack_fake import FakeSlack


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


def parents(slack: FakeSlack) -> list[Any]:
    return [c for c in slack.ok_calls_to("chat.postMessage") if not c.args.get("thread_ts")]


async def test_the_jobs_jobbot_channel_tag_routes_it_and_its_tags_name_the_owners(tmp_path: Path,
                                                                                   slack: FakeSlack) -> None:
    jobs = readers(FakeJobs([make_job("orders-00", tags={"jobbot-channel": "C0TAGGED", "oncall": "S0ORDERS",
                                                         "owner": "U0TEAMLEAD"})]))
    async with alerts_feature(sqlite_url(tmp_path / "j.db"), ManualClock(T0), slack, parse_config({}), jobs=jobs,
                              alert_channel="C0DEFAULT") as feature:
        await feature.accept(metric_alert(alert_id("tag"), "r", job_id("orders-00")))
        await feature.worker.drain()
    [parent] = parents(slack)
    assert parent.args["channel"] == "C0TAGGED"
    assert "owner <!subteam^S0ORDERS>" in str(parent.args["blocks"]) and "<@U0TEAMLEAD>" in str(parent.args["blocks"])


async def test_a_job_without_a_channel_goes_to_the_default_channel_and_says_why(tmp_path: Path,
                                                                                slack: FakeSlack) -> None:
    async with alerts_feature(sqlite_url(tmp_path / "j.db"), ManualClock(T0), slack, parse_config({}),
                              alert_channel="C0DEFAULT") as feature:
        await feature.accept(metric_alert(alert_id("default"), "r", job_id("orders-00")))
        await feature.worker.drain()
    [parent] = parents(slack)
    assert parent.args["channel"] == "C0DEFAULT" and "posted in the default alert channel" in str(parent.args)


async def test_a_channel_that_refuses_the_bot_sends_the_alert_to_the_default_channel(tmp_path: Path,
                                                                                     slack: FakeSlack) -> None:
    slack.add_channel("G0PRIVATE", "orders-private", is_private=True, is_member=False)
    config = parse_config({"jobs": {"orders-00": {"channel": "G0PRIVATE", "owners": {"primary": "S0ORDERS"}}}})
    async with alerts_feature(sqlite_url(tmp_path / "j.db"), ManualClock(T0), slack, config,
                              alert_channel="C0DEFAULT") as feature:
        await feature.accept(metric_alert(alert_id("refused"), "r", job_id("orders-00")))
        await feature.worker.drain()
    [parent] = parents(slack)
    assert parent.args["channel"] == "C0DEFAULT"
    assert "could not post in channel G0PRIVATE (channel_not_found)" in str(parent.args["blocks"])


async def test_an_alert_with_no_channel_anywhere_is_logged_and_audited_as_unroutable(
        tmp_path: Path, slack: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:
    db = sqlite_url(tmp_path / "j.db")
    async with alerts_feature(db, ManualClock(T0), slack, parse_config({})) as feature:
        with caplog.at_level(logging.WARNING, logger="bot.alerts"):
            await feature.accept(metric_alert(alert_id("nowhere"), "r", job_id("orders-00")))
            await feature.worker.drain()
    with Store.open(db) as store:
        assert await store.timers.due(T0 + timedelta(days=365), "probe") == [], "nothing left owed, nothing retried"
    assert slack.calls_to("chat.postMessage") == []
    assert any("unroutable" in r.getMessage() for r in caplog.records)
    assert [e.outcome for e in await audit_of(db) if e.action == "alert:post"] == ["unroutable"]


async def test_a_job_azure_does_not_know_is_still_posted_with_the_reason(tmp_path: Path, slack: FakeSlack) -> None:
    async with alerts_feature(sqlite_url(tmp_path / "j.db"), ManualClock(T0), slack, parse_config({}),
                              alert_channel="C0DEFAULT") as feature:
        await feature.accept(metric_alert(alert_id("gone"), "r", job_id("orders-99")))
        await feature.worker.drain()
    [parent] = parents(slack)
    final = slack.message("C0DEFAULT", parent.response["ts"])
    assert "the job orders-99 was not found in Azure" in str(final["blocks"])
    assert "The triage could not run: Job 'orders-99' was not found" in str(final["blocks"])


async def test_a_log_alert_naming_no_job_is_posted_without_a_triage(tmp_path: Path, slack: FakeSlack) -> None:
    async with alerts_feature(sqlite_url(tmp_path / "j.db"), ManualClock(T0), slack, parse_config({}),
                              alert_channel="C0DEFAULT") as feature:
        await feature.accept(log_alert(alert_id("nojob"), "heartbeat-missing", job=None, query="Heartbeat"))
        await feature.worker.drain()
    [parent] = parents(slack)
    assert "No job found" in str(parent.args["blocks"]) and "No triage" in str(parent.args["blocks"])


async def test_slack_failing_the_post_is_retried_later_then_given_up_and_audited(tmp_path: Path,
                                                                                 slack: FakeSlack) -> None:
    db = sqlite_url(tmp_path / "j.db")
    clock = ManualClock(T0)
    config = parse_config({"jobs": {"orders-00": {"channel": "C0ORDERS", "owners": {"primary": "S0ORDERS"}}}})
    # ok:false without a retryable status: the client gives up at once, the thread retries later.
    slack.fail_next("chat.postMessage", status=200, retry_after=None, times=100, error="fatal_error")
    async with alerts_feature(db, clock, slack, config) as feature:
        await feature.accept(metric_alert(alert_id("flaky"), "r", job_id("orders-00")))
        for _ in range(6):
            await feature.worker.drain()
            clock.advance(timedelta(minutes=1))
    assert parents(slack) == [] and len(slack.calls_to("chat.postMessage")) == 5, "5 attempts, then given up"
    assert [e.outcome for e in await audit_of(db) if e.action == "alert:post"] == ["failed"]


async def test_after_a_transient_slack_failure_the_post_lands_once(tmp_path: Path, slack: FakeSlack) -> None:
    clock = ManualClock(T0)
    config = parse_config({"jobs": {"orders-00": {"channel": "C0ORDERS", "owners": {"primary": "S0ORDERS"}}}})
    slack.fail_next("chat.postMessage", status=503, retry_after=None, times=3)
    async with alerts_feature(sqlite_url(tmp_path / "j.db"), clock, slack, config) as feature:
        await feature.accept(metric_alert(alert_id("transient"), "r", job_id("orders-00")))
        await feature.worker.drain()
        assert parents(slack) == []
        clock.advance(timedelta(minutes=1))
        await feature.worker.drain()
    assert len(parents(slack)) == 1


async def test_the_background_worker_stops_cleanly_mid_post_and_a_restart_posts_once(tmp_path: Path,
                                                                                      slack: FakeSlack) -> None:
    db = sqlite_url(tmp_path / "j.db")
    config = parse_config({"jobs": {"orders-00": {"channel": "C0ORDERS", "owners": {"primary": "S0ORDERS"}}}})
    slack.fail_next("chat.postMessage", status=429, retry_after=30, times=1)  # the post waits out Retry-After
    clock = ManualClock(T0)
    async with alerts_feature(db, clock, slack, config) as feature:
        await feature.worker.start()
        await feature.accept(metric_alert(alert_id("stop"), "r", job_id("orders-00")))
        await slack.wait_for(lambda: slack.calls_to("chat.postMessage"), timeout=10)
        started = asyncio.get_running_loop().time()
        await feature.stop()
        assert asyncio.get_running_loop().time() - started < 15, "stop does not wait for Slack's 30 s"
        assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("alerts")]
    clock.advance(timedelta(seconds=30))  # the stopped replica's lease (60 s on the test's clock) is not over yet …
    async with alerts_feature(db, clock, slack, config) as early:
        await early.worker.drain()
    assert parents(slack) == []
    clock.advance(timedelta(seconds=36))  # … now it is
    async with alerts_feature(db, clock, slack, config) as restarted:
        await restarted.worker.drain()
    assert len(parents(slack)) == 1


async def test_a_replica_killed_before_auditing_an_opened_alert_leaves_the_row_to_the_next_one(
        tmp_path: Path, slack: FakeSlack) -> None:
    """The window of tests/test_alerts_crash.py, forced: the thread is written, then the process dies before
    the "opened" audit row (and before the delivery is settled). The next replica processes the delivery
    again and the audit trail still says the thread was opened, once; Slack gets one parent."""
    db = sqlite_url(tmp_path / "j.db")
    config = parse_config({"jobs": {"orders-00": {"channel": "C0ORDERS", "owners": {"primary": "S0ORDERS"}}}})
    clock = ManualClock(T0)
    ident = alert_id("killed")
    body = metric_alert(ident, "r", job_id("orders-00"))

    def opened_row(fields: dict[str, Any]) -> bool:
        return bool(fields["action"] == "alert:delivery" and fields["outcome"] == "opened")

    async with alerts_feature(db, clock, slack, config, dies_before_audit=opened_row) as first:
        await first.accept(body)
        await first.worker.drain()
    assert [e.outcome for e in await audit_of(db) if e.action == "alert:delivery"] == [], "it died before the row"

    clock.advance(timedelta(seconds=config.alerts.lease_s + 1))  # the dead replica's claim runs out
    async with alerts_feature(db, clock, slack, config) as second:
        await second.accept(body)  # and Azure, having had no answer in time, delivers it again
        await second.worker.drain()
    deliveries = [e for e in await audit_of(db) if e.action == "alert:delivery"]
    assert sorted(e.outcome for e in deliveries) == ["duplicate", "opened"]
    assert len(parents(slack)) == 1
    with Store.open(db) as store:
        assert await store.timers.due(clock.now(), "probe", kinds=[DELIVERY]) == [], "the delivery is settled"


async def test_the_worker_is_idle_only_once_the_work_it_was_woken_for_is_done(tmp_path: Path,
                                                                               clock: ManualClock) -> None:
    """The signal tests wait on instead of sleeping: false from the wake-up until the last handler ended and
    nothing is due; a timer due later does not keep it busy."""
    started, release = asyncio.Event(), asyncio.Event()
    handled: list[str] = []

    async def handler(timer: Timer) -> None:
        started.set()
        await release.wait()
        handled.append(timer.key)

    with Store.open(sqlite_url(tmp_path / "j.db"), clock=clock) as store:
        worker = TimerWorker(store, clock, "r1", {"work": handler}, lease_s=60, poll_s=30)
        assert not worker.idle, "not running yet"
        await worker.start()
        await worker.wait_idle(5)
        await store.timers.schedule("other-feature", "k0", clock.now(), {})  # not this worker's kind
        await store.timers.schedule("work", "k1", clock.now(), {})
        worker.wake()
        assert not worker.idle
        await asyncio.wait_for(started.wait(), 5)  # the handler runs, and waits
        assert not worker.idle and handled == []
        release.set()
        await worker.wait_idle(5)
        assert handled == ["k1"]
        await store.timers.schedule("work", "k2", clock.now() + timedelta(minutes=5), {})
        worker.wake()
        await worker.wait_idle(5)
        assert handled == ["k1"], "due later: idle meanwhile"
        assert [t.key for t in await store.timers.due(clock.now(), "probe", kinds=["other-feature"])] == ["k0"], \
            "another feature's timer is left alone"
        await worker.stop()
        assert not worker.idle
        with pytest.raises(RuntimeError, match="not running"):
            await worker.wait_idle(1)


# --- the webhook on its own ------------------------------------------------------------------------------

async def _post(webhook: Webhook, body: bytes, token: str | None = "secret-token-123") -> httpx.Response:
    app = Starlette(routes=[Route("/hook", webhook.__call__, methods=["POST"])])  # an endpoint, not an ASGI app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        return await http.post("/hook", params={"token": token} if token else {}, content=body)


async def _nothing(**_: Any) -> None:
    return None


async def test_without_a_configured_token_the_webhook_refuses_everyone() -> None:
    async def accept(body: dict[str, Any]) -> str:
        raise AssertionError("nothing is accepted")

    webhook = Webhook(token="", accept=accept, audit=_nothing)
    body = httpx.Request("POST", "/", json=metric_alert(alert_id("x"), "r", job_id("j"))).content
    assert (await _post(webhook, body, token=None)).status_code == 401
    assert (await _post(webhook, body, token="anything")).status_code == 401


async def test_when_the_store_cannot_take_a_delivery_azure_is_told_to_retry() -> None:
    async def accept(body: dict[str, Any]) -> str:
        raise StoreUnavailable("store down")

    webhook = Webhook(token="secret-token-123", accept=accept, audit=_nothing)
    body = httpx.Request("POST", "/", json=metric_alert(alert_id("x"), "r", job_id("j"))).content
    response = await _post(webhook, body)
    assert response.status_code == 503, "Azure retries 503 (not 500)"


async def test_a_body_of_exactly_256_kb_is_accepted_and_one_byte_more_is_not() -> None:
    stored: list[dict[str, Any]] = []

    async def accept(body: dict[str, Any]) -> str:
        stored.append(body)
        return "d1"

    webhook = Webhook(token="secret-token-123", accept=accept, audit=_nothing)
    base = httpx.Request("POST", "/", json=metric_alert(alert_id("x"), "r", job_id("j"), )).content
    padded = base[:-1] + b" " * (MAX_BODY - len(base)) + b"}"
    assert len(padded) == MAX_BODY and (await _post(webhook, padded)).status_code == 202
    assert (await _post(webhook, padded + b" ")).status_code == 413
    assert len(stored) == 1


async def test_nul_characters_are_dropped_before_the_delivery_is_stored() -> None:
    stored: list[dict[str, Any]] = []

    async def accept(body: dict[str, Any]) -> str:
        stored.append(body)
        return "d1"

    body = metric_alert(alert_id("x"), "r\x00ule", job_id("j"))
    raw = httpx.Request("POST", "/", json=body).content
    assert (await _post(Webhook(token="secret-token-123", accept=accept, audit=_nothing), raw)).status_code == 202
    assert stored[0]["data"]["essentials"]["alertRule"] == "rule"


def test_uvicorns_access_log_line_loses_the_token() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "POST", "/alerts/azure-monitor?token=s3cr3t-value-42", "1.1", 202),
                               None)
    AccessLogRedaction(("s3cr3t-value-42",)).filter(record)
    assert "s3cr3t" not in record.getMessage() and "/alerts/azure-monitor?token=[REDACTED]" in record.getMessage()


# --- configuration and clocks ------------------------------------------------------------------------------

def test_the_alerts_section_is_validated_with_every_problem_at_once() -> None:
    config = parse_config({"alerts": {"group_window_min": 10, "escalate_after_min": 5, "lease_s": 30}})
    assert (config.alerts.group_window_min, config.alerts.escalate_after_min, config.alerts.lease_s) == (10, 5, 30)
    assert parse_config({}).alerts.group_window_min == 30
    with pytest.raises(ConfigError) as raised:
        parse_config({"alerts": {"group_window_min": 0, "lease_s": "long", "window": 3},
                      "jobs": {"a": {"owners": {"escalate_after_min": -1}}}})
    assert len(raised.value.problems) == 4


def test_timers_run_on_real_time_where_the_worlds_clock_stands_still() -> None:
    assert isinstance(scheduler_clock(FixedClock(T0)), SystemClock)
    manual = ManualClock(T0)
    assert scheduler_clock(manual) is manual


async def test_with_incidents_on_but_no_alert_channel_jobs_failing_together_keep_their_own_threads(
        tmp_path: Path, slack: FakeSlack) -> None:
    # An incident thread goes to the alert channel; with none, folding the jobs' alerts into it would post
    # them nowhere.
    names = ("orders-00", "orders-01", "orders-02")
    jobs = readers(FakeJobs([make_job(name) for name in names]))
    config = parse_config({"alerts": {"incidents": True},
                           "jobs": {name: {"channel": f"C0{name.upper()}"} for name in names}})
    async with alerts_feature(sqlite_url(tmp_path / "j.db"), ManualClock(T0), slack, config, jobs=jobs) as feature:
        for name in names:
            await feature.accept(metric_alert(alert_id(f"alone-{name}"), "r", job_id(name)))
        await feature.worker.drain()
    assert sorted(p.args["channel"] for p in parents(slack)) == [f"C0{name.upper()}" for name in names]
    assert not any("environment-wide" in str(p.args).lower() for p in parents(slack))
    async with FakeSlack() as with_channel:
        async with alerts_feature(sqlite_url(tmp_path / "k.db"), ManualClock(T0), with_channel, config, jobs=jobs,
                                  alert_channel="C0ALERTS") as feature:
            for name in names:
                await feature.accept(metric_alert(alert_id(f"together-{name}"), "r", job_id(name)))
            await feature.worker.drain()
        assert [p.args["channel"] for p in parents(with_channel)
                if "Environment-wide incident" in str(p.args)] == ["C0ALERTS"]


async def test_an_alert_whose_resolved_delivery_overtakes_its_fired_one_is_a_resolved_line_in_the_incident(
        tmp_path: Path, slack: FakeSlack) -> None:
    # In a storm deliveries overtake each other: the first seen of an alert may be its Resolved one. It
    # still fired on a job of the incident, so it is one of the incident's alerts, not a parent of its own.
    names = ("orders-00", "orders-01", "orders-02", "orders-03")
    jobs = readers(FakeJobs([make_job(name) for name in names]))
    config = parse_config({"alerts": {"incidents": True},
                           "jobs": {name: {"channel": f"C0{name.upper()}"} for name in names}})
    late = alert_id("overtaken-orders-03")
    async with alerts_feature(sqlite_url(tmp_path / "j.db"), ManualClock(T0), slack, config, jobs=jobs,
                              alert_channel="C0ALERTS") as feature:
        for name in names[:3]:
            await feature.accept(metric_alert(alert_id(f"firing-{name}"), "r", job_id(name)))
        await feature.worker.drain()
        await feature.accept(metric_alert(late, "r", job_id("orders-03"), condition="Resolved"))
        await feature.accept(metric_alert(late, "r", job_id("orders-03")))
        await feature.worker.drain()
    own = [p for p in parents(slack) if "Environment-wide incident" not in str(p.args)]
    assert not any(p.args["channel"] == "C0ORDERS-03" for p in own)
    assert len([p for p in parents(slack) if "Environment-wide incident" in str(p.args)]) == 1
    replies = [c.args["text"] for c in slack.ok_calls_to("chat.postMessage")
               if c.args.get("thread_ts") and c.args["channel"] == "C0ALERTS"]
    short = late.rsplit("/", 1)[-1]
    assert any(f"*orders-03*: alert `{short}`" in r for r in replies)
    assert any(r.startswith(f":white_check_mark: `{short}` resolved") for r in replies)
    [shown] = [m for (channel, ts), m in slack.messages.items()
               if channel == "C0ALERTS" and m.get("thread_ts", ts) == ts]
    assert "*orders-03* — resolved" in str(shown["blocks"])


async def test_a_store_fault_keeping_an_incident_members_triage_still_posts_that_triage(
        tmp_path: Path, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    # The stored triage only feeds the parent's shared cause: losing it must not cost the reply itself.
    from bot.alerts.storage import AlertRecords
    from bot.store import StoreError

    async def unwritable(*_: Any, **__: Any) -> None:
        raise StoreError("database is locked")

    monkeypatch.setattr(AlertRecords, "save_member_report", unwritable)
    names = ("orders-00", "orders-01", "orders-02")
    jobs = readers(FakeJobs([make_job(name) for name in names]))
    config = parse_config({"alerts": {"incidents": True},
                           "jobs": {name: {"channel": f"C0{name.upper()}"} for name in names}})
    async with alerts_feature(sqlite_url(tmp_path / "j.db"), ManualClock(T0), slack, config, jobs=jobs,
                              alert_channel="C0ALERTS") as feature:
        for name in names:
            await feature.accept(metric_alert(alert_id(f"kept-{name}"), "r", job_id(name)))
        await feature.worker.drain()
    replies = [c.args.get("text", "") for c in slack.ok_calls_to("chat.postMessage")
               if c.args.get("thread_ts") and c.args["channel"] == "C0ALERTS"]
    assert not any("Could not triage" in r for r in replies), replies
    triaged = [r for r in replies if any(name in r for name in names) and "alert `" not in r]
    assert len(triaged) >= 3, replies


async def test_an_incident_that_opens_already_resolved_pages_nobody(tmp_path: Path, slack: FakeSlack) -> None:
    # Deliveries overtake each other: if the first seen of three jobs' alerts are all Resolved, the incident
    # they make is over before anyone could act; it is shown, but the platform owner is not paged for it.
    names = ("orders-00", "orders-01", "orders-02")
    jobs = readers(FakeJobs([make_job(name) for name in names]))
    config = parse_config({"alerts": {"incidents": True, "platform_owners": {"*": "S0PLATFORM"}},
                           "jobs": {name: {"channel": f"C0{name.upper()}"} for name in names}})
    async with alerts_feature(sqlite_url(tmp_path / "j.db"), ManualClock(T0), slack, config, jobs=jobs,
                              alert_channel="C0ALERTS") as feature:
        for name in names:
            await feature.accept(metric_alert(alert_id(f"over-{name}"), "r", job_id(name), condition="Resolved"))
        await feature.worker.drain()
    posts = [c.args.get("text", "") for c in slack.ok_calls_to("chat.postMessage")]
    assert any("Environment-wide incident" in p or "environment-wide" in p.lower() for p in posts), posts
    assert not any("S0PLATFORM" in p for p in posts), posts


async def test_an_alert_joining_while_the_last_resolve_closes_the_incident_keeps_it_open(
        tmp_path: Path, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    # The incident's thread and the fleet record are two records: the last Resolved reads the thread (all
    # resolved) and closes the incident in the fleet record, and a fourth job's alert can join the thread in
    # between. The incident must stay open while that alert fires: a closed one would let the next alerts
    # of its jobs open a second incident beside it.
    from bot.alerts.storage import AlertRecords

    names = ("orders-00", "orders-01", "orders-02", "orders-03")
    jobs = readers(FakeJobs([make_job(name) for name in names]))
    config = parse_config({"alerts": {"incidents": True, "platform_owners": {"*": "S0PLATFORM"}},
                           "jobs": {name: {"channel": f"C0{name.upper()}"} for name in names}})
    closing = AlertRecords.close_incident
    async with alerts_feature(sqlite_url(tmp_path / "j.db"), ManualClock(T0), slack, config, jobs=jobs,
                              alert_channel="C0ALERTS") as feature:
        for name in names[:3]:
            await feature.accept(metric_alert(alert_id(f"race-{name}"), "r", job_id(name)))
        await feature.worker.drain()
        joined: list[str] = []

        async def join_first(records: AlertRecords, key: str) -> None:
            if not joined:  # the fourth job's alert is processed between the resolve's read and its close
                joined.append(key)
                out = await feature.service.process({"body": metric_alert(alert_id("race-orders-03"), "r",
                                                                    job_id("orders-03"))})
                assert out.thread == key, "it joined the incident, still open then"
            await closing(records, key)

        monkeypatch.setattr(AlertRecords, "close_incident", join_first)
        for name in names[:3]:  # one at a time: only the last finds every alert resolved
            await feature.accept(metric_alert(alert_id(f"race-{name}"), "r", job_id(name), condition="Resolved"))
            await feature.worker.drain()
        assert joined, "the last resolve tried to close the incident"
        records = AlertRecords(feature.service._store)
        fleet = await records.fleet()
        [incident] = fleet.open if fleet else ()
        assert incident.key == joined[0] and "orders-03" in incident.incident.jobs
        thread = await records.thread(incident.key)
        assert thread is not None and not thread.resolved
        # The fourth resolves: now the incident closes.
        await feature.accept(metric_alert(alert_id("race-orders-03"), "r", job_id("orders-03"), condition="Resolved"))
        await feature.worker.drain()
        fleet = await records.fleet()
        assert fleet is not None and fleet.open == ()
