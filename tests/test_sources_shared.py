"""One read, many readers: concurrent triages share their upstream reads (issue 18), on fakes and a ManualClock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import ManualClock
from bot.config import parse_config
from bot.errors import ConfigError, UpstreamError
from bot.evidence.shared_reads import SharedReads
from bot.intake import JobSpec
from bot.model import Cause, QueryResult, Window
from bot.respond.report_json import report_to_dict
from bot.respond.text import render_text
from bot.slack.blocks import render_blocks
from bot.slack.commands import Verb, help_text, parse_command
from bot.triage import triage
from tests.fakes import NOW, FakeJobs, FakeLogs, make_job, readers
from tests.test_triage_core import oom_history, oom_logs

HOUR = timedelta(hours=1)
SPEC = JobSpec("orders-processor")
WINDOW = Window(NOW - HOUR, NOW)


@dataclass
class GatedLogs:
    """A Log Analytics reader whose answers wait for the test to open the gate."""

    gate: asyncio.Event = field(default_factory=asyncio.Event)
    calls: int = 0
    error: Exception | None = None

    async def query(self, workspace_id: str, query_name: str, params: Mapping[str, object],
                    window: Window) -> QueryResult:
        self.calls += 1
        call = self.calls
        await self.gate.wait()
        if self.error is not None:
            raise self.error
        return QueryResult(({"call": call},))


def shared_logs(logs: GatedLogs, clock: ManualClock, reuse_s: float = 30.0) -> tuple[SharedReads, object]:
    shared = SharedReads(clock, reuse_s)
    return shared, readers(FakeJobs([make_job()]), logs).behind(shared).logs  # type: ignore[arg-type]


async def ask(shared: SharedReads, logs: object, clock: ManualClock, *, fresh: bool = False) -> QueryResult:
    with shared.triage(SPEC, clock, fresh=fresh):
        return await logs.query("ws-1", "exit_codes", {"job": "orders-processor"}, WINDOW)  # type: ignore[attr-defined]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_identical_reads_in_flight_are_made_once_and_every_waiter_gets_the_answer() -> None:
    clock = ManualClock(NOW)
    upstream = GatedLogs()
    shared, logs = shared_logs(upstream, clock)
    waiters = [asyncio.ensure_future(ask(shared, logs, clock)) for _ in range(20)]
    await settle()
    upstream.gate.set()
    answers = await asyncio.gather(*waiters)
    assert upstream.calls == 1
    assert {a.rows[0]["call"] for a in answers} == {1}


async def test_the_shared_reads_error_reaches_every_waiter_and_is_not_kept() -> None:
    clock = ManualClock(NOW)
    upstream = GatedLogs(error=UpstreamError("Log Analytics answered HTTP 500"))
    shared, logs = shared_logs(upstream, clock)
    waiters = [asyncio.ensure_future(ask(shared, logs, clock)) for _ in range(5)]
    await settle()
    upstream.gate.set()
    outcomes = await asyncio.gather(*waiters, return_exceptions=True)
    assert upstream.calls == 1
    assert all(isinstance(o, UpstreamError) and "HTTP 500" in str(o) for o in outcomes)
    upstream.error = None
    assert (await ask(shared, logs, clock)).rows[0]["call"] == 2  # the next triage asks again


async def test_a_waiter_that_gives_up_does_not_cancel_the_read_for_the_others() -> None:
    clock = ManualClock(NOW)
    upstream = GatedLogs()
    shared, logs = shared_logs(upstream, clock)
    impatient = asyncio.ensure_future(ask(shared, logs, clock))
    patient = asyncio.ensure_future(ask(shared, logs, clock))
    await settle()
    impatient.cancel()
    await settle()
    upstream.gate.set()
    assert (await patient).rows[0]["call"] == 1
    assert impatient.cancelled() and upstream.calls == 1


async def test_an_answer_is_reused_within_the_window_and_read_again_after_it() -> None:
    clock = ManualClock(NOW)
    upstream = GatedLogs()
    upstream.gate.set()
    shared, logs = shared_logs(upstream, clock, reuse_s=30)
    assert (await ask(shared, logs, clock)).rows[0]["call"] == 1
    clock.advance(timedelta(seconds=29))
    assert (await ask(shared, logs, clock)).rows[0]["call"] == 1
    clock.advance(timedelta(seconds=1))
    assert (await ask(shared, logs, clock)).rows[0]["call"] == 2


async def test_fresh_reads_anew_but_joins_a_read_started_after_it_asked() -> None:
    clock = ManualClock(NOW)
    upstream = GatedLogs()
    upstream.gate.set()
    shared, logs = shared_logs(upstream, clock)
    await ask(shared, logs, clock)
    assert (await ask(shared, logs, clock, fresh=True)).rows[0]["call"] == 2
    # The fresh answer is the one kept for the others.
    assert (await ask(shared, logs, clock)).rows[0]["call"] == 2

    upstream.gate.clear()
    clock.advance(timedelta(seconds=60))
    older = asyncio.ensure_future(ask(shared, logs, clock))  # in flight since before the fresh command
    await settle()
    clock.advance(timedelta(seconds=1))
    fresh = asyncio.ensure_future(ask(shared, logs, clock, fresh=True))
    await settle()
    joiner = asyncio.ensure_future(ask(shared, logs, clock, fresh=True))  # same instant: joins the fresh read
    await settle()
    upstream.gate.set()
    assert [(await t).rows[0]["call"] for t in (older, fresh, joiner)] == [3, 4, 4]


async def test_reuse_zero_still_shares_reads_in_flight_but_keeps_nothing() -> None:
    clock = ManualClock(NOW)
    upstream = GatedLogs()
    shared, logs = shared_logs(upstream, clock, reuse_s=0)
    waiters = [asyncio.ensure_future(ask(shared, logs, clock)) for _ in range(3)]
    await settle()
    upstream.gate.set()
    await asyncio.gather(*waiters)
    assert upstream.calls == 1
    assert (await ask(shared, logs, clock)).rows[0]["call"] == 2


async def test_reads_outside_a_triage_go_straight_through() -> None:
    # A checklist verifying a rollback wants the world as it is now, not an answer from before it.
    clock = ManualClock(NOW)
    upstream = GatedLogs()
    upstream.gate.set()
    shared, logs = shared_logs(upstream, clock)
    await ask(shared, logs, clock)
    await logs.query("ws-1", "exit_codes", {"job": "orders-processor"}, WINDOW)  # type: ignore[attr-defined]
    assert upstream.calls == 2


async def test_triages_seconds_apart_share_the_window_and_its_reads_and_say_when_they_were_read() -> None:
    clock = ManualClock(NOW)
    jobs, logs = FakeJobs([make_job()], oom_history()), oom_logs()
    shared = SharedReads(clock, 30)
    world = readers(jobs, logs).behind(shared)
    first = await triage(SPEC, HOUR, world, clock)
    clock.advance(timedelta(seconds=12))
    second = await triage(SPEC, HOUR, world, clock)
    assert second.window == first.window and second.verdict == first.verdict
    assert second.verdict.cause is Cause.OOM
    assert sorted(logs.calls) == sorted(set(logs.calls)) and jobs.calls.count("executions") == 1
    assert first.evidence_read_at == second.evidence_read_at == NOW

    fresh = await triage(SPEC, HOUR, world, clock, fresh=True)
    assert fresh.window.end == NOW + timedelta(seconds=12) == fresh.evidence_read_at
    assert jobs.calls.count("executions") == 2

    clock.advance(timedelta(seconds=31))
    later = await triage(SPEC, HOUR, world, clock)
    assert later.window.end == NOW + timedelta(seconds=43) == later.evidence_read_at
    assert jobs.calls.count("executions") == 3


async def test_the_report_says_when_its_evidence_was_read_in_every_format() -> None:
    clock = ManualClock(NOW.replace(hour=14, minute=2, second=11))
    report = await triage(SPEC, HOUR, readers(FakeJobs([make_job()], oom_history()), FakeLogs()), clock)
    assert "evidence from 14:02:11 UTC" in render_text(report)
    assert report_to_dict(report)["evidence_read_at"] == "2026-11-28T14:02:11Z"
    context = next(b for b in render_blocks(report).blocks if b.get("block_id") == "jobbot.context")
    assert "evidence from 14:02:11 UTC" in context["elements"][0]["text"]


def test_fresh_is_a_word_of_the_triage_command_and_the_help_says_so() -> None:
    command = parse_command("triage orders-processor 2h fresh")
    assert command.verb is Verb.TRIAGE and command.fresh and command.since == timedelta(hours=2)
    assert parse_command("triage orders-processor FRESH").fresh
    assert not parse_command("triage orders-processor").fresh
    assert parse_command("triage fresh").job.name == "fresh"  # type: ignore[union-attr]  # a job may be named so
    assert "`/jobbot triage JOB [since] [fresh]`" in help_text()
    assert "`fresh` reads everything anew" in help_text()


def test_reuse_is_configured_in_jobbot_yaml_and_zero_turns_it_off() -> None:
    assert parse_config({}).reuse_reads_s == 30.0
    assert parse_config({"azure": {"reuse_reads_s": 0}}).reuse_reads_s == 0.0
    with pytest.raises(ConfigError, match="reuse_reads_s"):
        parse_config({"azure": {"reuse_reads_s": -1}})


async def test_triages_of_different_jobs_share_what_they_have_in_common() -> None:
    # An alert storm: the environment's log destination is read once for all its jobs, not once per job.
    clock = ManualClock(NOW)
    jobs = FakeJobs([make_job(), make_job("invoice-sender")], oom_history())
    world = readers(jobs, oom_logs()).behind(SharedReads(clock))
    reports = await asyncio.gather(triage(SPEC, HOUR, world, clock), triage(JobSpec("invoice-sender"), HOUR, world,
                                                                              clock))
    assert {r.job.name for r in reports} == {"orders-processor", "invoice-sender"}
    assert jobs.calls.count("log_setup") == 1 and jobs.calls.count("executions") == 2


def test_the_command_line_triage_takes_fresh_and_its_report_says_when_it_read(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("JOBBOT_SCENARIO", raising=False)
    config = tmp_path / "jobbot.yaml"
    config.write_text("azure:\n  check_deadline_s: 30\n")  # a loaded test machine is no slow Azure
    monkeypatch.setenv("JOBBOT_CONFIG", str(config))
    with pytest.raises(SystemExit):
        main(["triage", "--help"])
    assert "--fresh" in capsys.readouterr().out
    scenario = Path(__file__).resolve().parent.parent / "scenarios" / "oom-after-image-change.yaml"
    assert main(["triage", "orders-processor", "--fresh", "--scenario", str(scenario), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"]["cause"] == "oom"
    assert report["evidence_read_at"] == report["window"]["end"] == "2026-11-28T10:00:00Z"  # the scenario's now
