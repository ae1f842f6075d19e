"""What `/jobbot` answers when there is nothing to show or it cannot post where it was asked: no jobs, no
owners, no runbook, Azure failing the job lookup, a channel jobbot is not in (the answer comes back through
the command's response_url instead of being lost)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from bot.clock import FixedClock
from bot.config import Config
from bot.errors import JobbotError, UpstreamError
from bot.intake import JobSpec
from bot.model import Job
from bot.slack.client import web_client
from bot.slack.commands import parse_command
from bot.slack.handlers import CommandService, Invocation
from tests.fakes import NOW, FakeJobs, make_job, readers
from tests.support.slack_fake import FakeSlack

PRIVATE = "C0PRIVATE"  # a private channel jobbot was not invited to: chat.postMessage answers channel_not_found


@dataclass
class FailingJobs(FakeJobs):
    error: Exception | None = None

    async def find_job(self, spec: JobSpec) -> Job:
        assert self.error is not None
        raise self.error


async def run(text: str, jobs: FakeJobs, slack: FakeSlack | None = None,
              channel: str = "C0INC") -> tuple[str, list[dict[str, Any]]]:
    answers: list[dict[str, Any]] = []

    async def respond(**kwargs: Any) -> None:
        answers.append(kwargs)

    client = web_client("xoxb-1111-2222-jobbottesttoken", slack.api_url) if slack else None
    service = CommandService(readers(jobs), FixedClock(NOW), Config(), client=client)  # type: ignore[arg-type]
    outcome = await service.run(Invocation(parse_command(text), "U0ONCALL", channel, respond))
    return outcome, answers


async def test_jobs_with_none_found_says_where_it_looked() -> None:
    outcome, [answer] = await run("jobs", FakeJobs([]))
    assert outcome == "ok"
    assert answer["text"] == "No Container Apps jobs found in the configured subscriptions."


async def test_owners_of_a_job_without_owner_tags_says_how_to_name_them() -> None:
    outcome, [answer] = await run("owners orders-processor", FakeJobs([make_job(tags={})]))
    assert outcome == "ok"
    assert answer["text"].startswith("No owners known for *orders-processor*: add tags `owner`/`oncall`/`escalation`")


async def test_azure_failing_the_job_lookup_is_a_private_warning_with_the_reason() -> None:
    jobs = FailingJobs([], error=UpstreamError("Azure Resource Manager answered HTTP 503 (ServiceUnavailable)"))
    outcome, [answer] = await run("owners orders-processor", jobs)
    assert outcome == "upstream-error"
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == (":warning: Could not look up the job: Azure Resource Manager answered HTTP 503 "
                              "(ServiceUnavailable)")


async def test_any_other_jobbot_error_is_a_private_warning_escaped() -> None:
    outcome, [answer] = await run("owners orders-processor", FailingJobs([], error=JobbotError("<bad> & worse")))
    assert outcome == "error"
    assert answer["text"] == ":warning: &lt;bad&gt; &amp; worse"


@pytest.fixture()
async def slack() -> Any:
    async with FakeSlack(channels={PRIVATE: {"name": "secret", "is_private": True, "is_member": False}}) as fake:
        yield fake


async def test_a_triage_asked_in_a_channel_jobbot_cannot_post_in_comes_back_through_response_url(
    slack: FakeSlack,
) -> None:
    outcome, answers = await run("failures orders-processor", FakeJobs([make_job()]), slack, PRIVATE)
    assert outcome == "ok"
    assert [c.error for c in slack.calls_to("chat.postMessage")] == ["channel_not_found"]
    [answer] = answers
    assert answer["response_type"] == "in_channel"
    assert answer["text"].startswith("orders-processor: ")


async def test_a_runbook_asked_in_a_channel_jobbot_cannot_post_in_comes_back_through_response_url(
    slack: FakeSlack,
) -> None:
    outcome, answers = await run("runbook orders-processor", FakeJobs([make_job()]), slack, PRIVATE)
    assert outcome == "ok"
    assert [c.error for c in slack.calls_to("chat.postMessage")] == ["channel_not_found"]
    [answer] = answers
    assert answer["response_type"] == "in_channel"
    assert "— runbook for *orders-processor* (verdict `healthy`)\n1. " in answer["text"]
