"""Re-checks at +5/+15/+30 min after the rollback, on an injected clock: timers in the store, results in the
thread; and the store's versioning under concurrent clicks. The real store (SQLite), the real Slack SDK client
against the fake Slack Web API, fake Azure readers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.access import AccessPolicy
from bot.checklists.actions import ActionId
from bot.checklists.feature import ChecklistFeature
from bot.checklists.model import StepKind, StepStatus, attach_message, mark_done
from bot.clock import ManualClock
from bot.config import Config
from bot.feature_api import Services
from bot.model import Container, QueueDepth
from bot.settings import Settings
from bot.slack.client import web_client
from bot.slack.handlers import CommandService
from bot.store import Store
from tests.fakes import NOW, FakeJobs, FakeQueues, execution, make_job, readers
from tests.support.slack_fake import FakeSlack
from tests.test_checklist_model import checklist

GOOD = "contoso.azurecr.io/orders:1.4.2"
CHANNEL = "C0INC"


@dataclass
class Rig:
    slack: FakeSlack
    store: Store
    clock: ManualClock
    jobs: FakeJobs
    queues: FakeQueues
    feature: ChecklistFeature
    ts: str = ""

    def new_process(self) -> ChecklistFeature:
        """A second replica (or the same one after a restart): nothing shared but the store."""
        return ChecklistFeature(services(self.slack, self.store, self.clock, self.jobs, self.queues, "replica-2"))

    def thread(self) -> list[dict[str, Any]]:
        return self.slack.thread(CHANNEL, self.ts)


def services(slack: FakeSlack, store: Store, clock: ManualClock, jobs: FakeJobs, queues: FakeQueues,
             replica: str) -> Services:
    client = web_client("xoxb-test-token", slack.api_url)

    async def members(group: str) -> list[str]:
        return list((await client.usergroups_users_list(usergroup=group)).get("users") or [])

    async def audit(**_: Any) -> None:
        return None

    the_readers = readers(jobs, queues=queues)
    config = Config()
    return Services(settings=Settings(), config=config, store=store, clock=clock, readers=the_readers,
                    client=client, commands=CommandService(the_readers, clock, config, client),
                    access=AccessPolicy(None, members), audit=audit, replica_id=replica)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with FakeSlack(usergroups={"S0OWNERS": ["U0OWNER"]}) as slack:
        store = Store.open(f"sqlite:///{tmp_path / 'j.db'}")
        clock = ManualClock(NOW)
        jobs = FakeJobs([make_job()], history=[execution("bad", "Failed", 5)])
        queues = FakeQueues(QueueDepth("azure-queue", "st", "orders", 1520))
        feature = ChecklistFeature(services(slack, store, clock, jobs, queues, "replica-1"))
        rig = Rig(slack, store, clock, jobs, queues, feature)
        c = replace(checklist(), queue_baseline=1520, queue_capacity=50)
        await feature.service.state.create(c)
        posted = await feature._services.client.chat_postMessage(channel=CHANNEL, text="checklist")
        rig.ts = posted["ts"]
        await feature.service.state.update(c.id, lambda x: attach_message(x, CHANNEL, posted["ts"]))
        try:
            yield rig
        finally:
            store.close()


def rolled_back(rig: Rig) -> None:
    rig.jobs.jobs = [make_job(containers=(Container("worker", GOOD),))]
    rig.jobs.history = [execution("good", "Succeeded", -8, image=GOOD)]  # started 8 min after NOW
    rig.queues.depth_value = QueueDepth("azure-queue", "st", "orders", 200)


async def test_rechecks_post_not_recovered_then_recovered_in_the_thread(rig: Rig) -> None:
    c = checklist()
    assert await rig.feature.service.click(ActionId.DONE, f"{c.id}/apply", "U0OWNER", CHANNEL, None, rig.ts) == "ok"
    rig.clock.advance(timedelta(minutes=4))
    assert await rig.feature.run_due_timers() == 0, "nothing is due before +5 min"

    rig.clock.advance(timedelta(minutes=1))
    assert await rig.feature.run_due_timers() == 1
    assert "+5 min after the rollback: not recovered" in str(rig.thread()[-1]["blocks"])

    rolled_back(rig)
    rig.clock.advance(timedelta(minutes=10))
    assert await rig.new_process().run_due_timers() == 1, "the timers live in the store, not in a process"
    said = str(rig.thread()[-1]["blocks"])
    assert "+15 min after the rollback: recovered" in said and "down from 1520" in said

    rig.clock.advance(timedelta(minutes=15))
    assert await rig.feature.run_due_timers() == 1
    assert await rig.feature.run_due_timers() == 0, "each re-check fires once"
    assert [m["text"] for m in rig.thread()] == ["Re-check +5 min: not recovered", "Re-check +15 min: recovered",
                                                 "Re-check +30 min: recovered"]
    saved = await rig.feature.service.state.load(c.id)
    assert saved is not None
    verify = saved.checklist.step(StepKind.VERIFY)
    assert verify.status is StepStatus.DONE and verify.by == "jobbot"
    shown = str(rig.slack.message(CHANNEL, rig.ts)["blocks"])
    assert "*Re-checks:* +5 min :x:, +15 min :white_check_mark:, +30 min :white_check_mark:" in shown


async def test_undoing_the_rollback_step_cancels_its_rechecks(rig: Rig) -> None:
    c = checklist()
    await rig.feature.service.click(ActionId.DONE, f"{c.id}/apply", "U0OWNER", CHANNEL, None, rig.ts)
    await rig.feature.service.click(ActionId.UNDO, f"{c.id}/apply", "U0OWNER", CHANNEL, None, rig.ts)
    rig.clock.advance(timedelta(minutes=31))
    assert await rig.feature.run_due_timers() == 0
    assert rig.thread() == []


async def test_another_features_timers_are_handed_back_untouched(rig: Rig) -> None:
    await rig.store.timers.schedule("alert-escalate", "alert-1", NOW, {"level": 1})
    assert await rig.feature.run_due_timers() == 0
    handed_back = await rig.store.timers.due(NOW, "alerts-feature")
    assert [(t.kind, t.key, t.payload) for t in handed_back] == [("alert-escalate", "alert-1", {"level": 1})]


async def test_a_non_owner_is_refused_privately_and_nothing_changes(rig: Rig) -> None:
    c = checklist()
    outcome = await rig.feature.service.click(ActionId.DONE, f"{c.id}/apply", "U0STRANGER", CHANNEL, None, rig.ts)
    assert outcome == "refused"
    refusal = rig.slack.ephemerals[-1]
    assert refusal["user"] == "U0STRANGER" and "needs an owner's approval" in refusal["text"]
    saved = await rig.feature.service.state.load(c.id)
    assert saved is not None and saved.checklist.step(StepKind.APPLY).status is StepStatus.OPEN


async def test_owner_lookups_are_cached_and_shared_by_concurrent_clicks(rig: Rig) -> None:
    c = checklist()
    service = rig.feature.service
    await asyncio.gather(*(service.click(action, f"{c.id}/{step}", "U0OWNER", CHANNEL, None, rig.ts)
                           for action, step in ((ActionId.DONE, "apply"), (ActionId.DONE, "intake"),
                                                (ActionId.SKIP, "lead"), (ActionId.DONE, "target"))))
    assert len(rig.slack.calls_to("usergroups.users.list")) == 1


async def test_ten_concurrent_writers_lose_no_update(rig: Rig) -> None:
    c = checklist()
    state = rig.feature.service.state
    steps = [s.kind for s in c.team_steps if s.kind not in (StepKind.VERIFY, StepKind.CLOSE)][:10]
    await asyncio.gather(*(state.update(c.id, lambda x, k=kind: mark_done(x, k, "U0OWNER", NOW, approver=True))
                           for kind in steps))
    saved = await state.load(c.id)
    assert saved is not None
    assert all(saved.checklist.step(kind).status is StepStatus.DONE for kind in steps)
    assert saved.version == 2 + len(steps)  # created, message attached, then one write per click
