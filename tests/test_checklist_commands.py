"""`/jobbot rollback JOB` and `/jobbot checklist JOB`: parsing, help, and dispatch to the feature that owns them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.checklists.actions import ActionId
from bot.clock import FixedClock
from bot.config import Config
from bot.errors import InvalidRequest
from bot.model import TriageReport, Window
from bot.slack.commands import Verb, help_text, parse_command
from bot.slack.handlers import CommandService, Invocation
from tests.fakes import NOW, FakeJobs, make_job, readers
from tests.test_checklist_model import verdict


@pytest.mark.parametrize("verb", [Verb.ROLLBACK, Verb.CHECKLIST])
def test_the_checklist_verbs_take_one_job(verb: Verb) -> None:
    command = parse_command(f"{verb.value} orders-processor")
    assert command.verb is verb and command.job is not None and command.job.name == "orders-processor"
    with pytest.raises(InvalidRequest, match=f"{verb.value} JOB"):
        parse_command(verb.value)
    with pytest.raises(InvalidRequest, match="Too many words"):
        parse_command(f"{verb.value} orders-processor 2h")


def test_help_lists_the_checklist_verbs() -> None:
    assert "`/jobbot rollback JOB`" in help_text() and "`/jobbot checklist JOB`" in help_text()


def service() -> CommandService:
    return CommandService(readers(FakeJobs([make_job()])), FixedClock(NOW), Config(), client=None)  # type: ignore[arg-type]


def test_without_the_feature_the_verbs_say_they_are_not_available() -> None:
    answers: list[dict[str, Any]] = []

    async def respond(**kwargs: Any) -> None:
        answers.append(kwargs)

    outcome = asyncio.run(service().run(Invocation(parse_command("rollback orders-processor"), "U0", "C0", respond)))
    assert outcome == "unavailable" and "not available" in answers[0]["text"]


def test_a_registered_feature_carries_out_its_verb() -> None:
    commands = service()
    seen: list[Invocation] = []

    async def rollback(call: Invocation) -> str:
        seen.append(call)
        return "ok"

    async def respond(**_: Any) -> None:
        return None

    commands.handle(Verb.ROLLBACK, rollback)
    call = Invocation(parse_command("rollback orders-processor"), "U0", "C0", respond)
    assert asyncio.run(commands.run(call)) == "ok" and seen == [call]


def test_reports_offer_the_start_button_only_when_a_rollback_is_offered_and_checklists_are_on() -> None:
    job = make_job()
    report = TriageReport(job.ref, Window(NOW, NOW), verdict(), ())
    commands = service()
    assert commands._report_actions(report) == []

    # The checklists feature offers its button the way it registers its verbs: on the command service.
    from bot.checklists.feature import _start_button

    commands.add_report_actions(_start_button)
    [button] = commands._report_actions(report)
    assert (button.action_id, button.value) == (ActionId.START.value, job.ref.id)
    from dataclasses import replace

    assert commands._report_actions(replace(report, verdict=replace(verdict(), rollback_candidate=None))) == []
