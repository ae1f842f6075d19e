"""Exactly once across replicas: two `jobbot serve` processes (each its own Store engine and emulator) on one
PostgreSQL, a storm of repeated, interleaved deliveries spread over both — one parent per alert, one resolve
note per resolved alert, every delivery processed, nothing lost. `bench/alerts_bench.py` runs the same with
figures.
"""

from __future__ import annotations

import asyncio
import collections
import json
from pathlib import Path

import pytest

from bot.alerts.storage import DELIVERY, RECOVER, WORK
from bot.store import AuditEntry
from tests.fixtures.alerts.payloads import storm, storm_world
from tests.fixtures.alerts.replicas import deliver_all, parents_by_alert, start_replica, wait_ready
from tests.support.db import audit_trail, owed_timers
from tests.support.slack_fake import FakeSlack

pytestmark = pytest.mark.postgres

ALERT_TOKEN = "alert-token-replicas-51c7e0"
# The bench's interleaving (each alert 10 times, a third later Resolved) at half its 1,000 / 100: the full
# size takes about 50 s here, this about half of that.
ALERTS, DELIVERIES, JOBS = 50, 500, 10


def audited(database: str) -> list[AuditEntry]:
    return audit_trail(database)


def test_two_replicas_post_each_alert_once_and_each_resolve_note_once(postgres_url: str, tmp_path: Path) -> None:
    database = postgres_url
    world = storm_world(tmp_path, jobs=JOBS, logs_for=1)
    plan = storm(world.jobs, alerts=ALERTS, deliveries=DELIVERIES)
    assert len({d.alert for d in plan.deliveries}) == ALERTS and len(plan.deliveries) == DELIVERIES
    with FakeSlack.in_thread() as slack:
        replicas = [start_replica(f"replica-{i}", workdir=tmp_path, scenario=world.scenario, config=world.config,
                                  database=database, slack_api_url=slack.api_url, alert_token=ALERT_TOKEN)
                    for i in range(2)]
        try:
            wait_ready(*replicas)
            delivered = asyncio.run(deliver_all([r.url for r in replicas], [d.body for d in plan.deliveries],
                                                ALERT_TOKEN))
            assert delivered.statuses == {202: DELIVERIES}

            def everything_shown() -> bool:
                shown = parents_by_alert(slack.messages)
                resolved = [a for a in plan.resolved
                            if a in shown and "Resolved" in shown[a][0]["blocks"][0]["text"]["text"]]
                notes = [c for c in slack.ok_calls_to("chat.postMessage")
                         if c.args.get("thread_ts") and "resolved" in c.args["text"]]
                return len(shown) == ALERTS and len(resolved) == len(plan.resolved) and len(notes) >= len(resolved)

            slack.wait_for_sync(everything_shown, timeout=180)

            # Repeats may still be queued when Slack shows everything; each is processed and audited in the end.
            def deliveries_done() -> list[AuditEntry] | None:
                entries = [e for e in audited(database) if e.action == "alert:delivery"]
                return entries if len(entries) >= DELIVERIES else None

            slack.wait_for_sync(deliveries_done, timeout=120)
            # Neither replica owes anything any more: anything late or doubled has been sent by now.
            slack.wait_for_sync(lambda: owed_timers(database, (DELIVERY, WORK, RECOVER)) == [], timeout=120,
                                interval=0.2)
            entries = [e for e in audited(database) if e.action == "alert:delivery"]
        finally:
            for replica in replicas:
                replica.stop()

    shown = parents_by_alert(slack.messages)
    top_level = [c for c in slack.ok_calls_to("chat.postMessage") if not c.args.get("thread_ts")]
    assert len(top_level) == ALERTS, "exactly one parent per alert"
    assert set(shown) == set(plan.alerts) and all(len(m) == 1 for m in shown.values()), "nothing lost"
    assert all(shown[alert][0]["channel"] == world.channels[job] for alert, job in plan.alerts.items())
    notes = collections.Counter(c.args["thread_ts"] for c in slack.ok_calls_to("chat.postMessage")
                                if c.args.get("thread_ts") and "resolved" in c.args["text"])
    assert {alert: notes[shown[alert][0]["ts"]] for alert in plan.resolved} == dict.fromkeys(plan.resolved, 1)
    assert not any(notes[shown[a][0]["ts"]] for a in set(plan.alerts) - plan.resolved)
    assert not [c for c in slack.ok_calls_to("chat.postMessage") if "Grouped here" in c.args.get("text", "")], \
        "distinct rule/job pairs never merge"

    outcomes = collections.Counter(e.outcome for e in entries)
    assert DELIVERIES <= sum(outcomes.values()) <= DELIVERIES + delivered.retried, "each delivery processed once"
    # Each alert opens its thread once, unless its Resolved was processed first: then its Fired is late.
    assert outcomes["opened"] + outcomes["late"] == ALERTS and outcomes["resolved"] == len(plan.resolved)
    assert set(outcomes) <= {"opened", "resolved", "duplicate", "late"}
    everything = audited(database)
    assert len([e for e in everything if e.action == "alert:post" and e.outcome == "posted"]) == ALERTS
    logs = "".join(r.output() for r in replicas)
    assert ALERT_TOKEN not in json.dumps([e.detail for e in everything]) and ALERT_TOKEN not in logs
    assert " ERROR " not in logs
