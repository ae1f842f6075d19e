"""Issue 13's acceptance scenario end to end: `jobbot serve` over real HTTP with the local Azure emulator
serving the registry-rotation fleet (31 jobs, two environments) and a fake Slack.

13 token-authenticated Azure Monitor deliveries — one per job the rotation broke, and one for invoices-sync,
failing on its own in the other environment — make exactly one incident parent in the alert channel (the
12 jobs listed, the registry named, and the rotation named as the shared cause with who and when) and one
thread of its own for invoices-sync; the platform owner of the rotation's environment is paged once; no
per-job escalation while the incident is open (invoices-sync's thread escalates as any alert does); and
resolving the 12 resolves the incident."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.alerts.payloads import alert_id, metric_alert
from tests.fixtures.alerts.registry_rotation import (
    BROKEN,
    CATCH_ALL_OWNER,
    PLATFORM_OWNER,
    REGISTRY,
    ROTATED_BY,
    UNRELATED,
    registry_rotation_world,
    target,
)
from tests.support.incident_bot import IncidentBot, served_incidents

TOKEN = "alert-token-rotation-4c1e"
ALERT_CHANNEL = "C0ALERTS"
RULE = "failed-executions"
ESCALATE_EVERY_S = 3.0  # both tiers due within the test for any thread that escalates
PART_OF = "Part of an environment-wide incident"
NOBODY = "Nobody has acknowledged"


def shown_text(blocks: Any) -> str:
    return json.dumps(blocks, ensure_ascii=False)


class Bot(IncidentBot):
    def deliver(self, job: str, n: int, condition: str = "Fired") -> None:
        self.post_alert(metric_alert(alert_id(f"rotation-{job}"), RULE, target(job), condition=condition,
                                     fired=f"2027-01-05T09:50:{n:02d}Z", resolved="2027-01-05T09:58:00Z"))


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    world = registry_rotation_world(tmp_path, escalate_after_min=ESCALATE_EVERY_S / 60)
    with served_incidents(Bot, tmp_path, world.scenario, world.config, world.channels, token=TOKEN,
                          alert_channel=ALERT_CHANNEL) as served:
        yield served


def test_a_registry_rotation_is_one_incident_naming_the_change_and_the_unrelated_job_its_own_thread(bot: Bot) -> None:
    order = [*BROKEN[:6], UNRELATED, *BROKEN[6:]]  # the unrelated alert arrives mid-storm
    for n, job in enumerate(order):
        bot.deliver(job, n)
    bot.app.quiet(timeout=240)
    time.sleep(ESCALATE_EVERY_S * 3)  # every tier of every thread that escalates is due by now
    bot.app.quiet(timeout=120)

    # One incident parent: the 12 jobs, the registry, and the rotation as the shared cause (what, who, when).
    incidents = bot.parents(ALERT_CHANNEL)
    assert len(incidents) == 1, [m.get("text") for m in incidents]
    incident = incidents[0]
    shown = shown_text(incident["blocks"])
    assert f"12 jobs · registry {REGISTRY}" in shown
    assert all(f"*{job}*" in shown for job in BROKEN) and UNRELATED not in shown
    assert "*Shared cause:* registry acrshared credentials regenerated <!date^" in shown
    assert f"by {ROTATED_BY}" in shown and "08:58 UTC" in shown and "12 of 12 jobs" in shown
    replies = bot.replies(ALERT_CHANNEL, incident)
    for job in BROKEN:  # each job's alert a line, its triage a reply
        assert any(f"*{job}*: alert" in r["text"] for r in replies), job
        assert any(r["text"].startswith(f"{job}: ") and r.get("blocks") for r in replies), job

    # One separate thread, the unrelated job's, in its own channel, escalating as any alert does.
    separate = [(channel, p) for channel in {*bot.channels.values(), ALERT_CHANNEL} for p in bot.parents(channel)
                if p is not incident and PART_OF not in shown_text(p["blocks"])]
    assert [channel for channel, _ in separate] == [bot.channels[UNRELATED]]
    own = separate[0][1]
    assert UNRELATED in shown_text(own["blocks"]) and f"{UNRELATED}: app-error" in own["text"]  # its own cause
    assert any(NOBODY in r["text"] for r in bot.replies(bot.channels[UNRELATED], own))

    # Jobs whose alert came before the incident was seen (fewer than the 3 that open it) may have a parent
    # already: it points to the incident and escalates no more. Nobody in the incident is escalated to.
    folded = [(bot.channels[job], p) for job in BROKEN for p in bot.parents(bot.channels[job])]
    assert len(folded) <= 2
    assert all(PART_OF in shown_text(p["blocks"]) for _, p in folded)
    assert not any(NOBODY in r["text"] for channel, p in folded for r in bot.replies(channel, p))
    assert not any(NOBODY in r["text"] for r in replies)

    # One page, to the platform owner of the environment the broken jobs run in (not the catch-all).
    pages = [c for c in bot.slack.calls_to("chat.postMessage")
             if f"<!subteam^{PLATFORM_OWNER}>" in c.args.get("text", "")]
    assert len(pages) == 1 and pages[0].args["thread_ts"] == incident["ts"]
    assert not any(CATCH_ALL_OWNER in c.args.get("text", "") for c in bot.slack.calls_to("chat.postMessage"))

    # Resolving all 12 resolves the incident; 11 do not.
    for n, job in enumerate(BROKEN[:11]):
        bot.deliver(job, n, "Resolved")
    bot.app.quiet(timeout=120)
    assert "Resolved" not in shown_text(bot.parents(ALERT_CHANNEL)[0]["blocks"][0])
    bot.deliver(BROKEN[11], 11, "Resolved")
    bot.app.quiet(timeout=120)
    resolved = bot.parents(ALERT_CHANNEL)[0]
    assert "Resolved" in shown_text(resolved["blocks"][0])
    assert "registry acrshared credentials regenerated" in shown_text(resolved["blocks"])
    assert len(bot.parents(ALERT_CHANNEL)) == 1
