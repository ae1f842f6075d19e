"""A `jobbot serve` process killed (SIGKILL) after it accepted an alert and before the parent reached Slack:
the next process on the same database posts it, once.

The fake Slack holds the first `chat.postMessage` back (429, Retry-After 30 s: the bot's client waits it out),
so the kill lands while the post is in flight and nothing has been posted. The alerts feature is told to
let a replica's claim run out after 2 s (`alerts.lease_s`), so the takeover is quick.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from bot.alerts.storage import DELIVERY, RECOVER, WORK
from tests.fixtures.alerts.payloads import alert_id, job_id, metric_alert, storm_world
from tests.fixtures.alerts.replicas import parents_by_alert, start_replica, wait_ready
from tests.support.db import audit_trail, owed_timers
from tests.support.slack_fake import FakeSlack

ALERT_TOKEN = "alert-token-crash-9f2e41b7"
LEASE_S = 2


def test_an_alert_accepted_by_a_killed_process_is_posted_once_after_restart(db_url: str, tmp_path: Path) -> None:
    database = db_url
    world = storm_world(tmp_path, jobs=1, extra_config={"alerts": {"lease_s": LEASE_S}})
    ident = alert_id("crash")
    body = metric_alert(ident, "failed-executions", job_id("orders-00"))
    channel = world.channels["orders-00"]

    with FakeSlack.in_thread() as slack:
        slack.fail_next("chat.postMessage", status=429, retry_after=30, times=1)
        first = start_replica("first", workdir=tmp_path, scenario=world.scenario, config=world.config,
                              database=database, slack_api_url=slack.api_url, alert_token=ALERT_TOKEN)
        second = None
        try:
            wait_ready(first)
            response = httpx.post(f"{first.url}/alerts/azure-monitor", params={"token": ALERT_TOKEN}, json=body,
                                  trust_env=False, timeout=10)
            assert response.status_code == 202
            slack.wait_for_sync(lambda: [c for c in slack.calls_to("chat.postMessage") if c.status == 429], timeout=30)
            assert slack.ok_calls_to("chat.postMessage") == [], "nothing posted before the kill"
            first.kill()
            assert first.process.returncode == -9

            second = start_replica("second", workdir=tmp_path, scenario=world.scenario, config=world.config,
                                   database=database, slack_api_url=slack.api_url, alert_token=ALERT_TOKEN)
            wait_ready(second)
            parent = slack.wait_for_sync(lambda: parents_by_alert(slack.messages).get(ident), timeout=30)
            assert parent[0]["channel"] == channel
            # Azure retrying the delivery, and time for a second post if one were coming.
            again = httpx.post(f"{second.url}/alerts/azure-monitor", params={"token": ALERT_TOKEN}, json=body,
                               trust_env=False, timeout=10)
            assert again.status_code == 202
            slack.wait_for_sync(lambda: "jobbot.verdict" in str(parents_by_alert(slack.messages)[ident][0]),
                                timeout=30)  # the triage filled the parent in
            # Nothing owed any more, by any replica: the killed one's delivery and work (claimed, never
            # settled) were taken over when their leases ran out, and the retry is processed.
            slack.wait_for_sync(lambda: owed_timers(database, (DELIVERY, WORK, RECOVER)) == [], timeout=60,
                                interval=0.2)
        finally:
            first.kill()
            if second is not None:
                second.stop()

    top_level = [c for c in slack.ok_calls_to("chat.postMessage") if not c.args.get("thread_ts")]
    assert len(top_level) == 1 and len(parents_by_alert(slack.messages)[ident]) == 1
    entries = audit_trail(database)
    assert [e.outcome for e in entries if e.action == "alert:post"] == ["posted"]
    # Whether the kill landed before or after the "opened" row was written, the trail says the thread was
    # opened (tests/test_alerts_service.py forces the kill before it), and Azure's retry was a duplicate.
    deliveries = [e.outcome for e in entries if e.action == "alert:delivery"]
    assert set(deliveries) == {"opened", "duplicate"} and deliveries.count("duplicate") == 1
    logs = first.output() + (second.output() if second else "")
    assert ALERT_TOKEN not in logs and "alerts/azure-monitor" in logs, "the access log ran, without the token"
