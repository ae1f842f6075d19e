"""Acknowledge and timed escalation, with a clock the test moves: the right tier after a restart, once
across replicas, and nothing more once someone acknowledged or the alert resolved.

"A restart" is what a process restart leaves behind: the feature and its store are dropped, and a new
feature (another replica id, a new engine) is built on the same database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest

from bot.alerts.feature import AlertsFeature
from bot.clock import ManualClock
from bot.config import parse_config
from tests.fixtures.alerts.inprocess import T0, alerts_feature
from tests.fixtures.alerts.payloads import alert_id, job_id, metric_alert
from tests.support.slack_fake import FakeSlack

CHANNEL = "C0ALERT00"
CHAIN = ("S0LEADS1", "U0MANAGER", "U0DIRECTOR")
CONFIG = parse_config({
    "jobs": {"orders-00": {"resource_group": "rg-orders", "channel": CHANNEL,
                           "owners": {"primary": "S0ORDERS", "escalation": list(CHAIN), "escalate_after_min": 15}}},
})


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@asynccontextmanager
async def replica(db: str, clock: ManualClock, slack: FakeSlack) -> AsyncIterator[AlertsFeature]:
    """One jobbot process's alerts feature: its own store engine and replica id, the shared database."""
    async with alerts_feature(db, clock, slack, CONFIG) as feature:
        yield feature


def escalations(slack: FakeSlack) -> list[str]:
    return [c.args["text"] for c in slack.ok_calls_to("chat.postMessage")
            if c.args.get("thread_ts") and c.args["text"].startswith(":rotating_light:")]


async def open_alert(feature: AlertsFeature, seed: str) -> str:
    ident = alert_id(seed)
    await feature.accept(metric_alert(ident, f"rule-{seed}", job_id("orders-00")))
    await feature.worker.drain()
    return ident


async def test_after_a_restart_the_tier_due_now_is_called_once_then_the_next_then_the_chain_ends(
        db_url: str, slack: FakeSlack) -> None:
    clock = ManualClock(T0)
    async with replica(db_url, clock, slack) as first:
        await open_alert(first, "restart")
        assert escalations(slack) == [], "nothing is due at once"
    clock.advance(timedelta(minutes=35))  # jobbot was down when tier 1 fell due at 15 min; tier 2 is due at 30 min
    async with replica(db_url, clock, slack) as restarted:
        await restarted.worker.drain()
        [note] = escalations(slack)
        assert "after 30 min" in note and "<@U0MANAGER>" in note and "escalation 2 of 3" in note
        assert "<!subteam^S0LEADS1>" in note and "due earlier" in note
        await restarted.worker.drain()
        assert len(escalations(slack)) == 1, "the same tier is never called twice"
        clock.advance(timedelta(minutes=11))  # 46 min: tier 3
        await restarted.worker.drain()
        assert "<@U0DIRECTOR>" in escalations(slack)[-1] and "end of the chain" in escalations(slack)[-1]
        clock.advance(timedelta(minutes=120))
        await restarted.worker.drain()
        assert len(escalations(slack)) == 2


async def test_acknowledging_stops_the_escalation_even_across_a_restart(db_url: str, slack: FakeSlack) -> None:
    clock = ManualClock(T0)
    async with replica(db_url, clock, slack) as feature:
        ident = await open_alert(feature, "ack")
        clock.advance(timedelta(minutes=16))
        await feature.worker.drain()
        assert len(escalations(slack)) == 1 and "<!subteam^S0LEADS1>" in escalations(slack)[0]
        outcome = await feature.escalations.acknowledge(ident, "U0ONCALL")
        assert outcome.recorded and outcome.ack is not None and outcome.ack.at == clock.now()
        await feature.worker.drain()
        again = await feature.escalations.acknowledge(ident, "U0SECOND")
        assert not again.recorded and again.ack is not None and again.ack.user == "U0ONCALL"
    clock.advance(timedelta(minutes=240))
    async with replica(db_url, clock, slack) as restarted:
        await restarted.worker.drain()
    assert len(escalations(slack)) == 1
    [parent] = [c for c in slack.ok_calls_to("chat.postMessage") if not c.args.get("thread_ts")]
    shown = slack.message(CHANNEL, parent.response["ts"])
    assert "Acknowledged by <@U0ONCALL>" in str(shown["blocks"]) and "jobbot.alert.ack" not in str(shown["blocks"])
    acks = [m for m in slack.thread(CHANNEL, parent.response["ts"]) if "Acknowledged by" in m["text"]]
    assert len(acks) == 1


async def test_a_resolved_alert_escalates_no_further(db_url: str, slack: FakeSlack) -> None:
    clock = ManualClock(T0)
    async with replica(db_url, clock, slack) as feature:
        ident = await open_alert(feature, "resolved")
        clock.advance(timedelta(minutes=5))
        await feature.accept(metric_alert(ident, "rule-resolved", job_id("orders-00"), condition="Resolved"))
        await feature.worker.drain()
        clock.advance(timedelta(minutes=60))
        await feature.worker.drain()
    assert escalations(slack) == []


async def test_two_replicas_due_at_once_call_the_tier_once(db_url: str, slack: FakeSlack) -> None:
    clock = ManualClock(T0)
    async with replica(db_url, clock, slack) as one, replica(db_url, clock, slack) as two:
        await open_alert(one, "race")
        clock.advance(timedelta(minutes=15))
        await asyncio.gather(one.worker.drain(), two.worker.drain(), one.worker.drain(), two.worker.drain())
        await asyncio.gather(one.worker.drain(), two.worker.drain())
    assert len(escalations(slack)) == 1
