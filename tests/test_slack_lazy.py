"""The slow half of `/jobbot` runs in a Bolt lazy listener: acked first, the work after it, one error handler
for its failures, one audit entry, and a shutdown that lets it finish or cancels it cleanly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.access import AccessPolicy
from bot.config import parse_config
from bot.slack.app import bolt_request, build_bolt_app
from bot.slack.client import web_client
from bot.slack.handlers import Invocation
from bot.slack.lazy import LazyWork
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import sign, slash_command_body

SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
TOKEN = "xoxb-1111-2222-lazytesttoken"


class Service:
    """Stands in for CommandService: what the command does after the ack is up to each test."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.fail = False
        self.calls: list[Invocation] = []

    async def run(self, call: Invocation) -> str:
        self.calls.append(call)
        self.started.set()
        await self.release.wait()
        if self.fail:
            raise RuntimeError("a bug deep inside")
        await call.respond(response_type="in_channel", text="the report")
        return "ok"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


class Harness:
    def __init__(self, slack: FakeSlack, config: dict[str, Any] | None = None) -> None:
        self.slack, self.service, self.audits = slack, Service(), []  # type: list[dict[str, Any]]

        async def audit(**fields: Any) -> None:
            self.audits.append(fields)

        access = AccessPolicy(parse_config(config or {}).access, _no_members)
        self.bolt = build_bolt_app(client=web_client(TOKEN, slack.api_url), signing_secret=SECRET,
                                   service=self.service, access=access, audit=audit)  # type: ignore[arg-type]
        self.lazy = LazyWork.of(self.bolt)

    async def command(self, text: str, token: str) -> tuple[int, str]:
        body = slash_command_body(text, response_url=self.slack.response_url(token))
        headers = {**sign(SECRET, body, int(time.time())), "content-type": "application/x-www-form-urlencoded"}
        response = await self.bolt.async_dispatch(bolt_request(body, {}, headers))
        return response.status, response.body


async def _no_members(group: str) -> list[str]:
    return []


async def test_the_ack_comes_before_the_work_and_the_work_answers_after_it(slack: FakeSlack) -> None:
    harness = Harness(slack)
    status, body = await harness.command("triage orders-processor", "t1")
    assert status == 200 and "Checking *orders-processor*" in body
    await asyncio.wait_for(harness.service.started.wait(), 5)
    assert harness.lazy.in_flight == 1 and harness.audits == [], "the work runs after the ack, audited when done"
    harness.service.release.set()
    await harness.lazy.close(5)
    assert [r["text"] for r in slack.responses_to("t1")] == ["the report"]
    assert [(a["action"], a["target"], a["outcome"]) for a in harness.audits] == [
        ("command:triage", "orders-processor", "ok")]


async def test_a_refused_or_invalid_command_never_reaches_the_lazy_work(slack: FakeSlack) -> None:
    harness = Harness(slack, {"access": {"commands": {"changes": {"user_groups": ["S0OWNERS"]}}}})
    status, body = await harness.command("changes orders-processor", "t2")
    assert status == 200 and ":no_entry:" in body
    status, body = await harness.command("triage", "t3")
    assert status == 200 and "usage" in body.lower()
    await harness.lazy.close(5)
    assert harness.service.calls == [], "the lazy half waited for the ack's decision and did nothing"
    assert [a["outcome"] for a in harness.audits] == ["refused", "refused"]


async def test_a_failure_after_the_ack_reaches_the_one_error_handler_the_user_and_the_audit(
        slack: FakeSlack) -> None:
    harness = Harness(slack)
    harness.service.fail = True
    harness.service.release.set()
    await harness.command("exitcodes orders-processor", "t4")
    await asyncio.wait_for(harness.service.started.wait(), 5)
    await harness.lazy.close(5)
    answers = slack.responses_to("t4")
    assert [a["text"] for a in answers] == [":warning: Sorry, that command failed inside jobbot. It has been logged."]
    assert answers[0]["response_type"] == "ephemeral" and "a bug deep inside" not in str(answers)
    assert [(a["action"], a["outcome"]) for a in harness.audits] == [("command:exitcodes", "error")]


async def test_shutdown_cancels_work_still_running_after_its_grace_and_audits_it(slack: FakeSlack) -> None:
    harness = Harness(slack)
    await harness.command("triage orders-processor", "t5")
    await asyncio.wait_for(harness.service.started.wait(), 5)
    await asyncio.wait_for(harness.lazy.close(0.2), 5)  # the service never finishes by itself
    assert harness.lazy.in_flight == 0 and slack.responses_to("t5") == []
    assert [(a["action"], a["outcome"]) for a in harness.audits] == [("command:triage", "error")]
