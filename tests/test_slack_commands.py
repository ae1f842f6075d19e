"""`/jobbot` text -> command; anything malformed gets help, never an exception of another kind."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import InvalidRequest
from bot.slack.commands import Verb, parse_command


def test_triage_with_job_and_window() -> None:
    command = parse_command("triage orders-processor 2h")
    assert command.verb is Verb.TRIAGE
    assert command.job is not None and command.job.name == "orders-processor"
    assert command.since == timedelta(hours=2)


def test_empty_text_is_help() -> None:
    assert parse_command("   ").verb is Verb.HELP


def test_a_typo_in_the_subcommand_suggests_the_closest() -> None:
    with pytest.raises(InvalidRequest, match="Did you mean `/jobbot triage`"):
        parse_command("traige orders-processor")


def test_missing_job_says_the_usage() -> None:
    with pytest.raises(InvalidRequest, match="triage JOB"):
        parse_command("triage")


def test_a_job_named_like_the_bolt_bug_parses() -> None:
    assert parse_command("triage payload-worker").job.name == "payload-worker"  # type: ignore[union-attr]


@given(st.text(max_size=200))
def test_any_text_gives_a_command_or_usage_help(text: str) -> None:
    try:
        command = parse_command(text)
    except InvalidRequest as error:
        assert str(error).strip()
    else:
        assert command.verb in Verb
