"""What each `/jobbot` subcommand does after the ack: triage, single checks, runbook, owners, jobs; and the
verbs features carry out (rollback, checklist, review), registered with `CommandService.handle`.

Every answer is built from the core's plain data; Slack is reached only through the client handed in.
Errors the user can act on come back as ephemeral answers; anything else is logged and the user is
told, without a stack trace, that the command failed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.config import Config
from bot.errors import JobbotError, JobNotFound, UpstreamError
from bot.evidence.payloads import ConfigChangesEvidence, ExitCodesEvidence, FailuresEvidence, RetriesEvidence
from bot.evidence.registry import CHECKS, Check, by_name
from bot.evidence.rows import iso
from bot.evidence.sources import Readers
from bot.intake import DEFAULT_SINCE
from bot.model import CheckResult, Job, TriageReport
from bot.slack.blocks import ButtonSpec, SlackMessage, escape, render_blocks, render_progress
from bot.slack.commands import SINGLE_CHECKS, Command, Verb
from bot.slack.errors import CannotPost
from bot.status.board import render_blocks as render_board
from bot.status.service import ScopeNotFound, status_board
from bot.triage import triage

log = logging.getLogger(__name__)

Respond = Callable[..., Awaitable[Any]]
# Progress edits cost a chat.update each (tier 3, ~50/min): at most one per interval per message.
PROGRESS_INTERVAL_S = 1.0
# Verbs carried out by a feature; without it (e.g. the feature is not loaded) they answer "not available".
FEATURE_VERBS = frozenset({Verb.ROLLBACK, Verb.CHECKLIST, Verb.DOCTOR, Verb.REVIEW})


@dataclass(frozen=True, slots=True)
class Invocation:
    """Who asked what, where; and how to answer them privately."""

    command: Command
    user_id: str
    channel_id: str
    respond: Respond


VerbHandler = Callable[[Invocation], Awaitable[str]]
ReportActions = Callable[[TriageReport], list[ButtonSpec]]


@dataclass
class CommandService:
    readers: Readers
    clock: Clock
    config: Config
    client: AsyncWebClient
    features: dict[Verb, VerbHandler] = field(default_factory=dict)
    # Buttons features add under a full triage report (the checklists' "Start rollback checklist").
    report_actions: list[ReportActions] = field(default_factory=list)

    def handle(self, verb: Verb, handler: VerbHandler) -> None:
        """Let a feature carry out `verb`; `handler` returns the outcome for the audit trail."""
        self.features[verb] = handler

    def add_report_actions(self, actions: ReportActions) -> None:
        """Let a feature offer buttons under a triage report (it decides when, from the report)."""
        self.report_actions.append(actions)

    async def run(self, call: Invocation) -> str:
        """Carry out the command; returns the outcome recorded in the audit trail."""
        verb = call.command.verb
        try:
            if verb is Verb.TRIAGE:
                await self._triage(call, CHECKS, full=True)
            elif verb in SINGLE_CHECKS:
                await self._triage(call, [by_name(n) for n in SINGLE_CHECKS[verb]], full=False)
            elif verb is Verb.RUNBOOK:
                await self._runbook(call)
            elif verb is Verb.OWNERS:
                await self._owners(call)
            elif verb is Verb.JOBS:
                await self._jobs(call)
            elif verb is Verb.STATUS:
                await self._status(call)
            elif verb in self.features:
                return await self.features[verb](call)
            elif verb in FEATURE_VERBS:
                await call.respond(response_type="ephemeral", replace_original=False,
                                   text=f"`{verb.value}` is not available in this jobbot.")
                return "unavailable"
            return "ok"
        except JobNotFound as error:
            await call.respond(response_type="ephemeral", replace_original=False, text=_not_found(error))
            return "not-found"
        except UpstreamError as error:
            await call.respond(response_type="ephemeral", replace_original=False,
                               text=f":warning: Could not look up the job: {escape(str(error))}")
            return "upstream-error"
        except JobbotError as error:
            await call.respond(response_type="ephemeral", replace_original=False,
                               text=f":warning: {escape(str(error))}")
            return "error"

    # -- triage and single checks -------------------------------------------------------------------

    async def _triage(self, call: Invocation, checks: Sequence[Check], *, full: bool) -> None:
        command = call.command
        assert command.job is not None and command.since is not None
        progress = _ProgressMessage(self.client, call, [c.name for c in checks])

        async def on_job(job: Job) -> None:
            await progress.start(job.ref.name)

        report = await triage(command.job, command.since, self.readers, self.clock,
                              deadline_s=self.config.check_deadline_s, checks=checks, config=self.config,
                              on_job=on_job, on_result=progress.add, fresh=command.fresh)
        entry = self.config.job(report.job.name)
        allow_excerpts = bool(entry and entry.post_console_excerpts)
        message = render_blocks(report, allow_console_excerpts=allow_excerpts,
                                actions=self._report_actions(report)) if full else _single(report)
        await progress.finish(message)

    def _report_actions(self, report: TriageReport) -> list[ButtonSpec]:
        return [button for actions in self.report_actions for button in actions(report)]

    async def _runbook(self, call: Invocation) -> None:
        assert call.command.job is not None
        report = await triage(call.command.job, call.command.since or DEFAULT_SINCE, self.readers, self.clock,
                              deadline_s=self.config.check_deadline_s, config=self.config)
        runbook = report.runbook
        if runbook is None:
            await call.respond(response_type="ephemeral", text="No runbook applies.")
            return
        steps = "\n".join(f"{i}. {escape(step)}" for i, step in enumerate(runbook.steps, 1))
        text = (f"*{escape(runbook.title)}* — runbook for *{escape(report.job.name)}* "
                f"(verdict `{report.verdict.cause.value}`)\n{steps}")
        await _post_or_respond(self.client, call, SlackMessage(text=text[:3900], blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": text[:2990]}}]))

    async def _owners(self, call: Invocation) -> None:
        assert call.command.job is not None
        job = await self.readers.jobs.find_job(call.command.job)
        owners = self.config.owners_for(job.ref.name, job.tags)
        if owners is None:
            text = (f"No owners known for *{escape(job.ref.name)}*: add tags `owner`/`oncall`/`escalation` to the "
                    "job or an `owners` entry in the config.")
        else:
            chain = " → ".join(owners.escalation) or "none"
            text = f"*{escape(job.ref.name)}* — primary: {owners.primary or 'unknown'}; escalation: {chain}"
        await call.respond(response_type="ephemeral", text=text)

    async def _status(self, call: Invocation) -> None:
        board = await status_board(call.command.scope, call.command.since or DEFAULT_SINCE, self.readers,
                                   self.clock, self.config)
        await _post_or_respond(self.client, call, render_board(board))

    async def _jobs(self, call: Invocation) -> None:
        jobs = sorted(await self.readers.jobs.list_jobs(), key=lambda j: j.ref.name.lower())
        if not jobs:
            await call.respond(response_type="ephemeral", text="No Container Apps jobs found in the configured "
                                                               "subscriptions.")
            return
        lines = [f"• *{escape(j.ref.name)}* ({escape(j.ref.resource_group)}) — {j.trigger_type or '?'} trigger, "
                 f"{j.running_state or 'state unknown'}" for j in jobs[:40]]
        more = f"\n… {len(jobs) - 40} more not shown" if len(jobs) > 40 else ""
        await call.respond(response_type="ephemeral", text=f"{len(jobs)} jobs:\n" + "\n".join(lines) + more)


class _ProgressMessage:
    """One channel message that fills in as checks finish, then becomes the report."""

    def __init__(self, client: AsyncWebClient, call: Invocation, pending: Sequence[str]) -> None:
        self._client = client
        self._call = call
        self._pending = list(pending)
        self._done: list[CheckResult] = []
        self._job = ""
        self._ts: str | None = None
        self._channel = call.channel_id
        self._last_edit = 0.0
        self._lock = asyncio.Lock()

    async def start(self, job_name: str) -> None:
        self._job = job_name
        message = render_progress(job_name, [], self._pending)
        try:
            response = await self._client.chat_postMessage(channel=self._call.channel_id, text=message.text,
                                                           blocks=message.blocks)
            self._ts, self._channel = response["ts"], response["channel"]
            self._last_edit = time.monotonic()
        except CannotPost:
            log.info("cannot post in channel, answering through response_url", extra={"job": job_name})

    async def add(self, result: CheckResult) -> None:
        async with self._lock:
            self._done.append(result)
            if result.name in self._pending:
                self._pending.remove(result.name)
            if self._ts is None or not self._pending or time.monotonic() - self._last_edit < PROGRESS_INTERVAL_S:
                return
            message = render_progress(self._job, self._done, self._pending)
            self._last_edit = time.monotonic()
            await self._client.chat_update(channel=self._channel, ts=self._ts, text=message.text,
                                           blocks=message.blocks)

    async def finish(self, message: SlackMessage) -> None:
        async with self._lock:
            if self._ts is not None:
                await self._client.chat_update(channel=self._channel, ts=self._ts, text=message.text,
                                               blocks=message.blocks)
            else:
                await self._call.respond(response_type="in_channel", text=message.text, blocks=message.blocks)


async def _post_or_respond(client: AsyncWebClient, call: Invocation, message: SlackMessage) -> None:
    try:
        await client.chat_postMessage(channel=call.channel_id, text=message.text, blocks=message.blocks)
    except CannotPost:
        await call.respond(response_type="in_channel", text=message.text, blocks=message.blocks)


def _single(report: TriageReport) -> SlackMessage:
    """A narrow command's answer: the checks it ran, without a verdict drawn from part of the evidence."""
    marks = {"ok": ":white_check_mark:", "warn": ":warning:", "fail": ":x:", "error": ":grey_question:",
             "skipped": ":heavy_minus_sign:"}
    lines = [f"{marks[c.status.value]} *{c.name}* — {escape(c.summary)}" for c in report.checks]
    detail = _details(report.checks)
    text = f"*{escape(report.job.name)}* ({escape(report.job.resource_group)})\n" + "\n".join(lines)
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text[:2990]}}]
    if detail:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": detail[:2990]}})
    return SlackMessage(text=f"{report.job.name}: " + "; ".join(c.summary for c in report.checks)[:3000],
                        blocks=blocks)


def _details(checks: Sequence[CheckResult]) -> str:
    lines: list[str] = []
    for check in checks:
        # As before the typed evidence: a partial answer's rows are still worth listing.
        found = check.evidence
        if isinstance(found, FailuresEvidence):
            for e in found.executions[:10]:
                codes = ",".join(str(c) for c in e.exit_codes or ()) or "-"
                lines.append(f"`{escape(e.name)}` {e.status} start {iso(e.start) or '-'} exit {codes}")
        elif isinstance(found, ExitCodesEvidence):
            lines += [f"`{c.code}` × {c.executions} executions — {escape(c.meaning)}" for c in found.codes[:10]]
        elif isinstance(found, ConfigChangesEvidence):
            lines += [f"{iso(c.time)} {escape(c.operation)} by {escape(c.caller or '?')}" for c in found.changes[:10]]
        elif isinstance(found, RetriesEvidence):
            lines += [f"`{escape(r.execution)}` {r.attempts} attempts" for r in found.by_execution]
    return "\n".join(lines)


def _not_found(error: JobNotFound) -> str:
    if isinstance(error, ScopeNotFound):  # `/jobbot status` of an unknown environment or resource group
        return f":mag: {escape(str(error))} `/jobbot jobs` lists the jobs I can see."
    hint = (" Did you mean " + ", ".join(f"`{escape(s)}`" for s in error.suggestions) + "?") if error.suggestions \
        else " `/jobbot jobs` lists the jobs I can see."
    return f":mag: Job `{escape(error.name)}` was not found.{hint}"


