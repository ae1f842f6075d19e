"""What a person is told when a checklist click, skip or command cannot go through: a stale or foreign button,
a checklist that is gone or closed, a step that cannot be skipped, a channel jobbot cannot post in, several
jobs of one name. Each refusal is a private answer that says why, and nothing in the store moves.

The checklist service runs in-process against a SQLite store and the fake Slack (real slack_sdk client)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from bot.access import AccessPolicy
from bot.checklists.actions import ActionId
from bot.checklists.approvals import Approvals
from bot.checklists.model import Checklist, StepKind
from bot.checklists.service import ChecklistService
from bot.checklists.state import ChecklistState, RecheckDue
from bot.clock import ManualClock
from bot.config import Config
from bot.intake import JobSpec
from bot.slack.client import web_client
from bot.store import Store
from tests.fakes import NOW, FakeJobs, make_job, readers
from tests.support.db import sqlite_url
from tests.support.slack_fake import FakeSlack
from tests.test_checklist_model import CHECKLIST_ID, checklist

CHANNEL, TS, USER = "C0INC", "1700000000.000100", "U0ONCALL"


@dataclass
class World:
    service: ChecklistService
    state: ChecklistState
    slack: FakeSlack
    answers: list[dict[str, Any]]

    async def respond(self, **kwargs: Any) -> None:
        self.answers.append(kwargs)

    def ephemerals(self) -> list[str]:
        return [e["text"] for e in self.slack.ephemerals]


async def no_members(group: str) -> Sequence[str]:
    return ()


@pytest.fixture()
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with FakeSlack() as slack:
        with Store.open(sqlite_url(tmp_path / "j.db")) as store:
            state = ChecklistState(store)
            service = ChecklistService(
                state=state, clock=ManualClock(NOW), readers=readers(FakeJobs([make_job()])),
                client=web_client("xoxb-1111-2222-jobbottesttoken", slack.api_url), config=Config(),
                access=AccessPolicy({"channels": [CHANNEL]}, no_members), approvals=Approvals(no_members))
            yield World(service, state, slack, [])


async def stored(world: World, shown: Checklist | None = None) -> Checklist:
    """The model checklist saved as open, and shown in a message of its channel (ts TS for the first)."""
    base = shown or checklist()
    posted = await world.service._client.chat_postMessage(channel=base.channel, text="checklist")
    saved = replace(base, ts=posted["ts"])
    await world.state.create(saved)
    assert await world.state.claim_open(saved) == saved.id
    return saved


async def test_a_button_that_is_not_a_checklist_value_is_refused_privately(world: World) -> None:
    outcome = await world.service.click(ActionId.DONE, "not-a-value", USER, CHANNEL, None, TS)
    assert outcome == "bad-value"
    assert world.ephemerals() == [
        "That button does not belong to a jobbot checklist (or it is from an older version)."]


async def test_a_click_on_a_checklist_no_longer_stored_says_so(world: World) -> None:
    outcome = await world.service.click(ActionId.DONE, f"{CHECKLIST_ID}/lead", USER, CHANNEL, None, TS)
    assert outcome == "gone"
    assert world.ephemerals() == ["This checklist no longer exists in jobbot's store."]


async def test_a_click_from_a_channel_the_checklist_command_is_not_enabled_in_is_refused(world: World) -> None:
    await stored(world, replace(checklist(), channel="C0ELSEWHERE"))
    outcome = await world.service.click(ActionId.DONE, f"{CHECKLIST_ID}/lead", USER, "C0ELSEWHERE", None, TS)
    assert outcome == "refused"
    [answer] = world.ephemerals()
    assert answer.startswith(":no_entry: `checklist` is not enabled in this channel.")
    saved = await world.state.load(CHECKLIST_ID)
    assert saved is not None and not saved.checklist.step(StepKind.LEAD).settled


async def test_a_step_the_checklist_does_not_have_is_named(world: World) -> None:
    await stored(world)
    outcome = await world.service.click(ActionId.DONE, f"{CHECKLIST_ID}/nosuchstep", USER, CHANNEL, None, TS)
    assert outcome == "refused"
    assert world.ephemerals() == ["This checklist has no step `nosuchstep`."]


async def test_skip_without_a_trigger_or_on_a_settled_step_is_refused_and_opens_no_modal(world: World) -> None:
    await stored(world)
    assert await world.service.click(ActionId.SKIP, f"{CHECKLIST_ID}/registry", USER, CHANNEL, None, TS) == "refused"
    assert await world.service.click(ActionId.DONE, f"{CHECKLIST_ID}/registry", USER, CHANNEL, None, TS) == "ok"
    assert await world.service.click(ActionId.SKIP, f"{CHECKLIST_ID}/registry", USER, CHANNEL, "trig", TS) == "refused"
    assert world.ephemerals() == ["That step cannot be skipped now."] * 2
    assert world.slack.calls_to("views.open") == []


async def test_a_closed_checklist_refuses_clicks_and_points_to_a_new_rollback(world: World) -> None:
    await stored(world, replace(checklist(), closed_at=NOW))
    outcome = await world.service.click(ActionId.DONE, f"{CHECKLIST_ID}/registry", USER, CHANNEL, None, TS)
    assert outcome == "refused"
    assert world.ephemerals() == [
        "This checklist is closed; `/jobbot rollback orders-processor` starts a new one."]


async def test_a_skip_submitted_for_a_checklist_since_deleted_or_not_allowed_is_refused_in_the_modal(
    world: World,
) -> None:
    assert await world.service.submit_skip(f"{CHECKLIST_ID}/registry", USER, "not needed") == (
        "This checklist no longer exists in jobbot's store.")
    assert await world.service.submit_skip("garbage", USER, "x") == (
        "That button does not belong to a jobbot checklist (or it is from an older version).")
    await stored(world, replace(checklist(), channel="C0ELSEWHERE"))
    refusal = await world.service.submit_skip(f"{CHECKLIST_ID}/registry", USER, "not needed")
    assert refusal is not None and "not enabled in this channel" in refusal
    saved = await world.state.load(CHECKLIST_ID)
    assert saved is not None and not saved.checklist.step(StepKind.REGISTRY).settled


async def test_when_slack_refuses_the_ephemeral_answer_the_click_still_completes(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.slack.fail_next("chat.postEphemeral", status=200, retry_after=None, error="user_not_in_channel")
    with caplog.at_level(logging.WARNING, logger="bot.checklists.service"):
        assert await world.service.click(ActionId.DONE, "bad", USER, CHANNEL, None, TS) == "bad-value"
    assert any("could not send an ephemeral answer" in r.getMessage() for r in caplog.records)


async def test_show_says_when_nothing_is_open_and_how_to_start_one(world: World) -> None:
    assert await world.service.show(JobSpec("orders-processor"), CHANNEL, world.respond) == "none"
    assert world.answers[0]["text"] == (
        "No rollback checklist is open for *orders-processor*. `/jobbot rollback orders-processor` starts one.")


async def test_show_asks_for_the_full_id_when_jobs_of_one_name_in_two_groups_have_checklists(world: World) -> None:
    first = await stored(world)
    other_job = replace(first.job, resource_group="rg-other", id=first.job.id.replace("rg-orders", "rg-other"))
    await stored(world, replace(checklist(), id="f" * 32, job=other_job))
    assert await world.service.show(JobSpec("orders-processor"), CHANNEL, world.respond) == "ambiguous"
    assert world.answers[0]["text"] == ("Checklists are open for jobs named *orders-processor* in `rg-orders`, "
                                        "`rg-other`: name the job by its full ARM id.")
    # Named by its resource group, the one checklist is shown.
    assert await world.service.show(JobSpec("orders-processor", "rg-other"), CHANNEL, world.respond) == "ok"


async def test_a_recheck_for_a_closed_or_redone_rollback_posts_nothing(world: World) -> None:
    await stored(world, replace(checklist(), closed_at=NOW))
    before = len(world.slack.calls)
    await world.service.recheck(RecheckDue(CHECKLIST_ID, 5, NOW))
    await world.service.recheck(RecheckDue("0" * 32, 5, NOW))
    assert world.slack.calls[before:] == []


async def test_show_reposts_a_checklist_whose_message_was_deleted_and_links_the_new_one(world: World) -> None:
    lost = replace(checklist(), ts="1600000000.000100")  # a message Slack no longer has
    await world.state.create(lost)
    assert await world.state.claim_open(lost) == lost.id
    assert await world.service.show(JobSpec("orders-processor"), CHANNEL, world.respond) == "ok"
    [update_failed] = [c for c in world.slack.calls_to("chat.update") if not c.ok]
    assert update_failed.error == "message_not_found"
    [reposted] = world.slack.ok_calls_to("chat.postMessage")
    saved = await world.state.load(lost.id)
    assert saved is not None and saved.checklist.ts == reposted.response["ts"]
    assert "the live message" in world.answers[-1]["blocks"][0]["text"]["text"]


async def test_show_without_a_permalink_still_shows_the_checklist(world: World) -> None:
    await stored(world)
    world.slack.fail_next("chat.getPermalink", status=200, retry_after=None, error="internal_error")
    assert await world.service.show(JobSpec("orders-processor"), CHANNEL, world.respond) == "ok"
    head = world.answers[-1]["blocks"][0]["text"]["text"]
    assert head == "The open rollback checklist for *orders-processor*"
