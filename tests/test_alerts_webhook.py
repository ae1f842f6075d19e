"""`POST /alerts/azure-monitor` end to end: `jobbot serve` over real HTTP with the local Azure emulator and a
fake Slack — refusals that post nothing, then what a channel sees for alerts, repeats, groups, resolves and
the Acknowledge button."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import parse_config
from bot.server import create_app
from bot.settings import Settings
from bot.store import AuditEntry
from tests.fixtures.alerts.payloads import (
    UNKNOWN_SCHEMA,
    alert_id,
    job_id,
    log_alert,
    metric_alert,
    sample,
    storm_world,
)
from tests.support.db import audit_trail
from tests.support.logs import LogLines, captured_logs
from tests.support.served import Served, serving
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import block_actions_body, sign

TOKEN = "alert-token-6c1f0e2b9a"
BOT_TOKEN = "xoxb-1111-2222-alertwebhook"
SECRET = "5d41402abc4b2a76b9719d911017c592"
DEFAULT_CHANNEL = "C0ALERTS"
ROUTE = "/alerts/azure-monitor"


class Bot:
    def __init__(self, app: Served, slack: FakeSlack, db: str, logs: LogLines, scenario: Path) -> None:
        self.app, self.slack, self.db, self.logs, self.scenario = app, slack, db, logs, scenario
        self.http = httpx.Client(base_url=app.url, timeout=10, trust_env=False)

    def deliver(self, body: Any, *, token: str | None = TOKEN, header: bool = False) -> httpx.Response:
        params = {"token": token} if token is not None and not header else {}
        headers = {"X-Jobbot-Token": token} if token is not None and header else {}
        return self.http.post(ROUTE, params=params, headers=headers, json=body)

    def parents(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages, those with replies included (a parent's `thread_ts` is its own ts)."""
        found = [m for (ch, ts), m in self.slack.messages.items() if ch == channel and m.get("thread_ts", ts) == ts]
        return sorted(found, key=lambda m: m["ts"])

    def parent_for(self, ident: str, channel: str, timeout: float = 20) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((m for m in self.parents(channel) if ident in json.dumps(m.get("blocks"))), None)

        message: dict[str, Any] = self.slack.wait_for_sync(found, timeout=timeout)
        return message

    def settle(self, predicate: Any, timeout: float = 20) -> Any:
        return self.slack.wait_for_sync(predicate, timeout=timeout)

    def audit(self) -> list[AuditEntry]:
        return audit_trail(self.db)


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    tmp = tmp_path_factory.mktemp("alerts")
    world = storm_world(tmp, jobs=3, logs_for=1, extra_config={"alerts": {"group_window_min": 30}})
    db = f"sqlite:///{tmp / 'jobbot.db'}"
    with captured_logs() as logs, FakeSlack.in_thread() as slack:
        settings = Settings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SECRET, slack_api_url=slack.api_url,
                            scenario=world.scenario, database_url=db, alert_token=TOKEN,
                            alert_channel=DEFAULT_CHANNEL)
        with serving(create_app(settings, parse_config(world.config))) as app:
            yield Bot(app, slack, db, logs, world.scenario)


# --- refusals ---------------------------------------------------------------------------------------------

def test_a_missing_or_wrong_token_gets_401_and_nothing_is_posted(bot: Bot) -> None:
    bot.app.quiet()  # earlier tests' alerts are all shown
    before = len(bot.slack.calls)
    body = metric_alert(alert_id("refused-1"), "failed", job_id("orders-00"))
    assert bot.deliver(body, token=None).status_code == 401
    assert bot.deliver(body, token="wrong-token").status_code == 401
    assert bot.deliver(body, token="wrong-token", header=True).status_code == 401
    assert bot.deliver(body, token=TOKEN[:-1]).status_code == 401
    assert bot.deliver(body, token="").status_code == 401
    bot.app.quiet()  # the alert worker is idle: whatever the requests started is done
    assert len(bot.slack.calls) == before


def test_malformed_json_gets_400(bot: Bot) -> None:
    for raw in (b"{not json", b"", b"\xff\xfe\x00", b'{"schemaId": NaN}'):
        response = bot.http.post(ROUTE, params={"token": TOKEN}, content=raw,
                                 headers={"Content-Type": "application/json"})
        assert response.status_code == 400, raw


def test_a_body_over_256_kb_gets_413_whether_or_not_it_says_its_length(bot: Bot) -> None:
    body = metric_alert(alert_id("big"), "failed", job_id("orders-00"))
    body["data"]["essentials"]["description"] = "x" * (256 * 1024)
    raw = json.dumps(body).encode()
    assert bot.http.post(ROUTE, params={"token": TOKEN}, content=raw).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        for start in range(0, len(raw), 16 * 1024):
            yield raw[start:start + 16 * 1024]

    assert bot.http.post(ROUTE, params={"token": TOKEN}, content=chunks()).status_code == 413


def test_an_unknown_schema_or_an_unusable_alert_gets_422(bot: Bot) -> None:
    assert bot.deliver(json.loads(UNKNOWN_SCHEMA.read_text())).status_code == 422
    assert bot.deliver({"hello": "world"}).status_code == 422
    assert bot.deliver([1, 2, 3]).status_code == 422
    no_id = sample()
    del no_id["data"]["essentials"]["alertId"]
    response = bot.deliver(no_id)
    assert response.status_code == 422 and response.json() == {"error": "invalid alert"}


def test_refusals_post_nothing_and_are_audited_without_the_token(bot: Bot) -> None:
    bot.app.quiet()
    before = len(bot.slack.calls)
    bot.deliver(sample(), token="nope")
    bot.http.post(ROUTE, params={"token": TOKEN}, content=b"{")
    bot.deliver(json.loads(UNKNOWN_SCHEMA.read_text()))
    bot.app.quiet()
    assert len(bot.slack.calls) == before
    refused = [e for e in bot.audit() if e.action == "alert:delivery" and e.outcome == "refused"]
    assert {e.detail.split(":")[0] for e in refused} >= {"unauthorized", "malformed JSON", "unknown schema"}
    assert TOKEN not in repr(refused)


# --- what the channel sees --------------------------------------------------------------------------------

def test_an_alert_on_a_job_gets_a_parent_in_its_channel_filled_in_by_the_triage(bot: Bot) -> None:
    ident = alert_id("job-alert")
    started = time.monotonic()
    response = bot.deliver(metric_alert(ident, "failed-executions", job_id("orders-00")))
    assert response.status_code == 202 and response.json()["alertId"] == ident
    assert time.monotonic() - started < 1, "answered before any Slack or Azure work"
    parent = bot.parent_for(ident, "C0ALERT00")
    assert "failed-executions" in parent["text"] and "orders-00" in parent["text"]

    def triaged() -> dict[str, Any] | None:
        message = bot.slack.message("C0ALERT00", parent["ts"])
        return message if "oom (high)" in json.dumps(message["blocks"]) else None

    filled = bot.settle(triaged)
    text = json.dumps(filled["blocks"])
    assert "contoso.azurecr.io/orders:1.4.2" in text, "the triage's rollback candidate is in the parent"
    assert "jobbot.alert.ack" in text and "<!subteam^S0ORDERS>" in text


def test_repeated_deliveries_post_one_parent_and_resolved_adds_one_note(bot: Bot) -> None:
    ident = alert_id("repeats")
    body = metric_alert(ident, "repeats-rule", job_id("orders-01"))
    for _ in range(4):
        assert bot.deliver(body).status_code == 202
    parent = bot.parent_for(ident, "C0ALERT01")
    resolved = metric_alert(ident, "repeats-rule", job_id("orders-01"), condition="Resolved")
    for _ in range(3):
        assert bot.deliver(resolved, header=True).status_code == 202

    def resolved_parent() -> dict[str, Any] | None:
        message = bot.slack.message("C0ALERT01", parent["ts"])
        return message if "Resolved" in message["blocks"][0]["text"]["text"] else None

    final = bot.settle(resolved_parent)
    assert "resolved after 22 min" in json.dumps(final["blocks"])
    bot.app.quiet()  # every delivery processed, every note owed posted: a stray second note would be here
    notes = [m for m in bot.slack.thread("C0ALERT01", parent["ts"]) if "resolved" in m["text"]]
    assert len(notes) == 1 and "after 22 min" in notes[0]["text"]
    assert len([m for m in bot.parents("C0ALERT01") if ident in json.dumps(m.get("blocks"))]) == 1


def test_alerts_of_one_rule_on_one_job_group_into_one_thread_and_other_rules_do_not(bot: Bot) -> None:
    first, second, third = alert_id("group-1"), alert_id("group-2"), alert_id("group-3")
    bot.deliver(metric_alert(first, "grouped-rule", job_id("orders-02")))
    parent = bot.parent_for(first, "C0ALERT02")
    bot.deliver(metric_alert(second, "grouped-rule", job_id("orders-02")))
    bot.deliver(metric_alert(third, "another-rule", job_id("orders-02")))
    bot.parent_for(third, "C0ALERT02")
    bot.settle(lambda: "+1 more" in json.dumps(bot.slack.message("C0ALERT02", parent["ts"])["blocks"]))
    joined = bot.settle(lambda: [m for m in bot.slack.thread("C0ALERT02", parent["ts"]) if "Grouped here" in m["text"]])
    assert len(joined) == 1 and second.rsplit("/", 1)[-1] in joined[0]["text"]
    assert not any(second in json.dumps(m.get("blocks")) and m["ts"] != parent["ts"] for m in bot.parents("C0ALERT02"))


def test_a_log_alert_on_a_workspace_reaches_the_job_named_in_its_dimension(bot: Bot) -> None:
    ident = alert_id("log-v2")
    assert bot.deliver(log_alert(ident, "backoff-limit", job="orders-01")).status_code == 202
    parent = bot.parent_for(ident, "C0ALERT01")
    assert "Log alert (Log Alerts V2)" in json.dumps(parent["blocks"])
    assert "Search results in Log Analytics" in json.dumps(parent["blocks"])


def test_the_official_sample_about_no_job_is_still_posted_and_says_so(bot: Bot) -> None:
    assert bot.deliver(sample()).status_code == 202
    parent = bot.parent_for("aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e", DEFAULT_CHANNEL)
    text = json.dumps(parent["blocks"])
    assert "No job found" in text and "WCUS-R2-Gen2" in text and "Percentage CPU" in text
    assert "Resolved" in parent["blocks"][0]["text"]["text"], "the sample is a Resolved alert"


def test_acknowledge_records_who_stops_escalation_and_a_second_click_is_told(bot: Bot) -> None:
    ident = alert_id("ack-me")
    bot.deliver(metric_alert(ident, "ack-rule", job_id("orders-02")))
    parent = bot.parent_for(ident, "C0ALERT02")
    users = ("U0ONCALL", "U0LATECOMER")
    for user in users:
        body = block_actions_body("jobbot.alert.ack", ident, user_id=user, channel_id="C0ALERT02",
                                  message_ts=parent["ts"])
        response = bot.http.post("/slack/events", content=body,
                                 headers={**sign(SECRET, body), "Content-Type": "application/x-www-form-urlencoded"})
        assert response.status_code == 200

    # Both clicks are handled after their acks, at once: whichever is recorded first stands.
    def acknowledged_by() -> str | None:
        shown = json.dumps(bot.slack.message("C0ALERT02", parent["ts"])["blocks"])
        return next((u for u in users if f"Acknowledged by <@{u}>" in shown), None)

    winner = bot.settle(acknowledged_by)
    loser = next(u for u in users if u != winner)
    assert "jobbot.alert.ack" not in json.dumps(bot.slack.message("C0ALERT02", parent["ts"])["blocks"])
    notes = bot.settle(lambda: [m for m in bot.slack.thread("C0ALERT02", parent["ts"]) if "Acknowledged" in m["text"]])
    told = bot.settle(lambda: [e for e in bot.slack.ephemerals if e["user"] == loser])
    assert len(notes) == 1 and f"<@{winner}>" in notes[0]["text"]
    assert f"Already acknowledged by <@{winner}>" in told[0]["text"]
    clicks = [e for e in bot.audit() if e.action == "click:ack-alert"]
    assert {(e.actor, e.outcome) for e in clicks} >= {(winner, "ok"), (loser, "duplicate")}


def test_acknowledging_an_alert_jobbot_has_no_record_of_says_so(bot: Bot) -> None:
    body = block_actions_body("jobbot.alert.ack", alert_id("never-delivered"), user_id="U0CURIOUS",
                              channel_id="C0ALERT00", message_ts="1700000000.999999")
    response = bot.http.post("/slack/events", content=body,
                             headers={**sign(SECRET, body), "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    told = bot.settle(lambda: [e for e in bot.slack.ephemerals if e["user"] == "U0CURIOUS"])
    assert "no record of this alert" in told[0]["text"]


def test_every_delivery_is_audited_and_the_token_is_nowhere(bot: Bot) -> None:
    first, second = alert_id("audited-1"), alert_id("audited-2")
    bot.deliver(metric_alert(first, "audit-rule", job_id("orders-00")), header=True)
    bot.parent_for(first, "C0ALERT00")
    bot.deliver(metric_alert(first, "audit-rule", job_id("orders-00")))
    bot.deliver(metric_alert(second, "audit-rule", job_id("orders-00")))
    bot.deliver(metric_alert(first, "audit-rule", job_id("orders-00"), condition="Resolved"))
    rule = "alert:audit-rule"

    def processed() -> list[AuditEntry] | None:
        found = [e for e in bot.audit() if e.action == "alert:delivery" and e.actor == rule]
        return found if len(found) == 4 else None

    bot.app.quiet()  # the alert worker is idle: every delivery is processed and audited, no polling needed
    entries = processed()
    assert entries is not None
    assert sorted(e.outcome for e in entries) == ["duplicate", "joined", "opened", "resolved"]
    assert all(e.target == "orders-00" and e.channel == "C0ALERT00" for e in entries)
    short = {e.outcome: e.detail for e in entries}
    assert short["opened"] == f"{first.rsplit('/', 1)[-1]} Fired"
    assert short["joined"].startswith(f"{second.rsplit('/', 1)[-1]} Fired in thread ")
    posts = [e for e in bot.audit() if e.action == "alert:post" and e.actor == rule]
    assert [e.outcome for e in posts] == ["posted"]
    entries = bot.audit()
    everything = repr(entries) + repr([c.args for c in bot.slack.calls]) + "\n".join(bot.logs.lines)
    assert TOKEN not in everything


def test_the_webhook_answers_fast_under_concurrent_deliveries(bot: Bot) -> None:
    async def burst() -> list[float]:
        async with httpx.AsyncClient(base_url=str(bot.http.base_url), trust_env=False, timeout=10) as http:
            async def one(i: int) -> float:
                started = time.perf_counter()
                response = await http.post(ROUTE, params={"token": TOKEN}, json=metric_alert(
                    alert_id(f"burst-{i % 5}"), f"burst-{i % 5}", job_id("orders-00")))
                assert response.status_code == 202
                return time.perf_counter() - started

            return await asyncio.gather(*(one(i) for i in range(40)))

    # Speed is bench/alerts_bench.py's to measure; here: 40 racing deliveries of 5 alerts are all
    # accepted and make exactly one thread per alert.
    assert len(asyncio.run(burst())) == 40
    for i in range(5):
        bot.parent_for(alert_id(f"burst-{i}"), "C0ALERT00", timeout=30)
    threads = [json.dumps(m.get("blocks")) for m in bot.parents("C0ALERT00") if "burst-" in json.dumps(m.get("blocks"))]
    assert len(threads) == 5
    assert sorted(n for blocks in threads for n in range(5) if alert_id(f"burst-{n}") in blocks) == [0, 1, 2, 3, 4]


def test_scenario_paths_do_not_leak_into_slack(bot: Bot) -> None:
    ident = alert_id("paths")
    bot.deliver(metric_alert(ident, "paths-rule", job_id("orders-01")))
    parent = bot.parent_for(ident, "C0ALERT01")
    bot.settle(lambda: "jobbot.verdict" in json.dumps(bot.slack.message("C0ALERT01", parent["ts"])["blocks"]))
    sent = repr([c.args for c in bot.slack.calls])
    assert bot.scenario.name not in sent and str(bot.scenario.parent) not in sent
