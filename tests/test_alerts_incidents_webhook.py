"""An environment-wide incident end to end: `jobbot serve` over real HTTP with the local Azure emulator and
a fake Slack. Four clones of the oom scenario's job pull from one registry; a fifth lives in another
environment and pulls from another registry. Alerts on three of the four, then on the fifth: one incident
parent naming the shared registry in the alert channel, with each job's alert as a line and its triage in
the thread, one page to the platform owner, no escalation of those jobs' own while the incident is open —
and the unrelated job's alert is a thread of its own, escalating as usual. Resolving the three resolves it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.fixtures.alerts.payloads import alert_id, job_id, metric_alert, storm_world
from tests.support.incident_bot import IncidentBot, served_incidents

TOKEN = "alert-token-incident-7d2a"
ALERT_CHANNEL = "C0ALERTS"
PLATFORM = "S0PLATFORM"
RULE = "failed-executions"
SHARED = ("orders-00", "orders-01", "orders-02")
UNRELATED = "orders-04"  # moved to another environment and registry below
ESCALATE_EVERY_S = 1.0  # two tiers, both due within the test for any thread that escalates


class Bot(IncidentBot):
    def deliver(self, job: str, condition: str = "Fired") -> None:
        self.post_alert(metric_alert(alert_id(f"incident-{job}"), RULE, job_id(job), condition=condition))


def _elsewhere(scenario: Path, job: str) -> None:
    """Move `job` to another environment and registry: it shares nothing with the others."""
    world = yaml.safe_load(scenario.read_text())
    entry = next(j for j in world["jobs"] if j["name"] == job)
    text = json.dumps(entry).replace("cae-orders-weu", "cae-billing-weu").replace("contoso.azurecr.io",
                                                                                   "billing.azurecr.io")
    world["jobs"] = [json.loads(text) if j["name"] == job else j for j in world["jobs"]]
    scenario.write_text(yaml.safe_dump(world, sort_keys=False))


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    world = storm_world(tmp_path, jobs=5, logs_for=1, escalate_after_min=ESCALATE_EVERY_S / 60, incidents=True,
                        extra_config={"alerts": {"platform_owners": {"cae-orders-weu": PLATFORM}}})
    _elsewhere(world.scenario, UNRELATED)
    with served_incidents(Bot, tmp_path, world.scenario, world.config, world.channels, token=TOKEN,
                          alert_channel=ALERT_CHANNEL) as served:
        yield served


def test_jobs_failing_on_a_shared_registry_are_one_incident_and_an_unrelated_job_is_not(bot: Bot) -> None:
    for job in (*SHARED, UNRELATED):
        bot.deliver(job)
    bot.app.quiet(timeout=120)
    time.sleep(ESCALATE_EVERY_S * 3)  # every tier of every thread that escalates is due by now
    bot.app.quiet(timeout=120)

    incidents = bot.parents(ALERT_CHANNEL)
    assert len(incidents) == 1, [m.get("text") for m in incidents]
    incident = incidents[0]
    shown = json.dumps(incident["blocks"])
    assert "registry contoso.azurecr.io" in shown and "3 jobs" in shown
    assert all(job in shown for job in SHARED) and UNRELATED not in shown
    replies = bot.replies(ALERT_CHANNEL, incident)
    for job in SHARED:  # each job's alert is a line, and its triage a reply, in the incident's thread
        assert any(f"*{job}*: alert" in r["text"] for r in replies), job
        assert any(r["text"].startswith(f"{job}: ") and r.get("blocks") for r in replies), job

    # One page, to the environment's platform owner.
    pages = [c for c in bot.slack.calls_to("chat.postMessage") if f"<!subteam^{PLATFORM}>" in c.args.get("text", "")]
    assert len(pages) == 1 and pages[0].args["thread_ts"] == incident["ts"]

    # The unrelated job: a parent of its own, escalating as any alert does.
    own = bot.parents(bot.channels[UNRELATED])
    assert len(own) == 1 and UNRELATED in json.dumps(own[0]["blocks"])
    assert any("Nobody has acknowledged" in r["text"] for r in bot.replies(bot.channels[UNRELATED], own[0]))

    # The incident's jobs: no escalation anywhere. A job whose parent went out before the incident was seen
    # keeps it, saying it is part of the incident; the others have none.
    for job in SHARED:
        channel = bot.channels[job]
        for parent in bot.parents(channel):
            assert "Part of an environment-wide incident" in json.dumps(parent["blocks"])
            assert not any("Nobody has acknowledged" in r["text"] for r in bot.replies(channel, parent))
    assert not any("Nobody has acknowledged" in r["text"] for r in replies)

    # Resolving every alert of the incident resolves it.
    for job in SHARED[:2]:
        bot.deliver(job, "Resolved")
    bot.app.quiet(timeout=60)
    assert "Resolved" not in json.dumps(bot.parents(ALERT_CHANNEL)[0]["blocks"][0])
    bot.deliver(SHARED[2], "Resolved")
    bot.app.quiet(timeout=60)
    header = json.dumps(bot.parents(ALERT_CHANNEL)[0]["blocks"][0])
    assert "Resolved" in header and "registry contoso.azurecr.io" in header
