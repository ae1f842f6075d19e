"""The Slack work a thread owes, done by whichever replica claims it: post the parent, run the triage,
refresh the parent, post notes in its thread (see `thread` for the claim → do → finish protocol).

A claim is a lease on the scheduler's clock, renewed while the work waits (a storm's posting queue, a
Retry-After); a replica that dies stops renewing and the next one to look takes the work over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bot.alerts.render import (
    ack_text,
    escalation_text,
    flapping_text,
    incident_line_text,
    incident_note_text,
    joined_text,
    page_text,
    parent_message,
    resolved_text,
)
from bot.alerts.shared_cause import shared_cause
from bot.alerts.storage import AlertRecords
from bot.alerts.thread import (
    ACK_NOTE,
    FLAPPING_NOTE,
    INCIDENT_NOTE,
    MAX_ATTEMPTS,
    MEMBER_TRIAGE,
    PAGE_NOTE,
    POST,
    REFRESH,
    RETRY_AFTER,
    TRIAGE,
    Posted,
    Thread,
    TriageResult,
    claim,
    finish,
    finish_member_triage,
    finish_post,
    finish_refresh,
    finish_triage,
    give_up_post,
    next_wake,
    release,
    renew,
    reroute,
    runnable,
    unfinished,
)
from bot.clock import Clock
from bot.config import Config
from bot.errors import JobbotError
from bot.evidence.limiter import Priority
from bot.evidence.sources import Readers
from bot.intake import DEFAULT_SINCE, MAX_SINCE, JobSpec
from bot.model import TriageReport
from bot.slack.blocks import SlackMessage, escape, render_blocks
from bot.slack.errors import CannotPost, SlackFailure
from bot.slack.posting import PostingQueue
from bot.triage import triage

log = logging.getLogger(__name__)

Audit = Callable[..., Awaitable[None]]
# The triage looks back to a little before the alert fired.
LEAD_IN = timedelta(minutes=10)
# Triages at once per replica. A storm's triages queue here rather than all start together: each is a burst
# of Azure reads (Log Analytics' shared limiter would queue their queries anyway) and of CPU on the event
# loop that also answers the webhook.
TRIAGES_AT_ONCE = 4


class ThreadWork:
    def __init__(self, *, records: AlertRecords, queue: PostingQueue, readers: Readers, config: Config,
                 clock: Clock, scheduler: Clock, owner: str, lease_s: float, fallback_channel: str | None,
                 audit: Audit, give_way: Callable[[], Awaitable[None]] | None = None) -> None:
        self._records = records
        self._give_way = give_way
        self._queue = queue
        self._readers = readers
        self._config = config
        self._clock = clock
        self._scheduler = scheduler
        self._owner = owner
        self._lease = timedelta(seconds=lease_s)
        self._fallback = fallback_channel
        self._audit = audit
        self._triages = asyncio.Semaphore(TRIAGES_AT_ONCE)

    async def drive(self, key: str) -> datetime | None:
        """Do whatever the thread owes that nobody else is doing, one claim at a time — except the triage,
        which runs alongside (a post may wait seconds for the channel's turn; the evidence need not).

        Returns when to look again, read after the last claim: now, if work was left that nobody holds
        (it came in meanwhile); when a lease held elsewhere runs out or a retry falls due; or None when the
        thread owes nothing.
        """
        alongside: set[asyncio.Task[None]] = set()
        try:
            while True:
                await self._yield_to_intake()
                claimed = await self._claim_next(key)
                if claimed is not None:
                    thread, effect, token = claimed
                    if effect == TRIAGE or effect.startswith(MEMBER_TRIAGE):
                        task = asyncio.create_task(self._run(thread, effect, token))
                        alongside.add(task)
                        task.add_done_callback(alongside.discard)
                    else:
                        await self._run(thread, effect, token)
                elif alongside:
                    await asyncio.wait(set(alongside), return_when=asyncio.FIRST_COMPLETED)
                else:
                    break
        finally:
            for task in alongside:  # only when the drive itself is cancelled (shutdown): the lease runs out
                task.cancel()
        settled = await self._records.thread(key)
        if settled is None or not unfinished(settled):
            return None
        now = self._scheduler.now()
        if runnable(settled, now):
            return now
        return next_wake(settled) or now + RETRY_AFTER

    async def _claim_next(self, key: str) -> tuple[Thread, str, str] | None:
        """Claim one owed effect: the thread as claimed, the effect, the claim's token; None if there is
        nothing this replica can claim now."""
        read = await self._records.read(key)
        if read is None:
            return None
        now = self._scheduler.now()
        until = now + self._lease
        for effect in runnable(read[0], now):
            token = f"{self._owner}:{uuid.uuid4().hex[:12]}"

            def take(current: Thread | None, effect: str = effect, token: str = token) -> Thread | None:
                return claim(current, effect, token, now, until) if current else None

            claimed, won = await self._records.change(key, take, read=read)
            read = None
            if won and claimed is not None:
                return claimed, effect, token
        return None

    async def _run(self, thread: Thread, key: str, token: str) -> None:
        heartbeat = asyncio.create_task(self._renew(thread.key, key, token))
        try:
            if key == POST:
                await self._post(thread, token)
            elif key == REFRESH:
                await self._refresh(thread, token)
            elif key == TRIAGE:
                await self._triage(thread)
            elif key.startswith(MEMBER_TRIAGE):
                await self._member_triage(thread, key)
            else:
                await self._note(thread, key)
        except Exception as error:
            reason = _reason(error)
            log.warning("alert thread work failed, will retry: %s", reason,
                        extra={"alert": thread.key, "effect": key}, exc_info=not isinstance(error, SlackFailure))
            released, _ = await self._change(thread.key,
                                             lambda t: release(t, key, token, self._scheduler.now(), reason))
            if key == POST and released is not None and released.posted is Posted.FAILED:
                await self._record(thread, "alert:post", "failed", f"gave up after {MAX_ATTEMPTS} attempts: {reason}")
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _renew(self, key: str, effect: str, token: str) -> None:
        period = max(0.05, self._lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(period)
            try:
                _, kept = await self._change(key, self._extend(effect, token))
            except Exception:  # the next beat tries again; the lease has two more periods to run
                log.warning("could not renew an alert lease", extra={"alert": key, "effect": effect}, exc_info=True)
                continue
            if not kept:
                log.warning("lost the lease on alert work to another replica", extra={"alert": key, "effect": effect})
                return

    def _extend(self, effect: str, token: str) -> Callable[[Thread], Thread | None]:
        until = self._scheduler.now() + self._lease
        return lambda thread: renew(thread, effect, token, until)

    # --- the effects ---------------------------------------------------------------------------------

    async def _post(self, thread: Thread, token: str) -> None:
        channel = thread.channel or thread.routing.channel
        if channel is None:
            await self._change(thread.key, lambda t: give_up_post(t, Posted.UNROUTABLE, "no channel"))
            log.warning("alert unroutable: no catalog channel, jobbot-channel tag or default alert channel",
                        extra={"alert": thread.key, "job": thread.routing.job})
            await self._record(thread, "alert:post", "unroutable", "no channel for this alert")
            return
        message = await self._parent(thread)
        try:
            response = await self._queue.post(channel, text=message.text, blocks=message.blocks,
                                              unfurl_links=False, unfurl_media=False)
        except CannotPost as error:
            code = error.code
            fallback = self._fallback or self._config.alert_channel
            if fallback and fallback != channel:
                note = f"could not post in channel {channel} ({code}): posted in the default alert channel"
                await self._change(thread.key, lambda t: reroute(t, fallback, note, token))
                return
            await self._change(thread.key, lambda t: give_up_post(t, Posted.FAILED, code))
            await self._record(thread, "alert:post", "failed", f"Slack refused the post in {channel}: {code}")
            return
        ts, posted_in = str(response["ts"]), str(response.get("channel") or channel)
        await self._change(thread.key, lambda t: finish_post(t, posted_in, ts, thread.view))
        await self._record(thread, "alert:post", "posted", f"parent {ts} in {posted_in}", channel=posted_in)

    async def _refresh(self, thread: Thread, token: str) -> None:
        assert thread.channel is not None and thread.ts is not None
        message = await self._parent(thread)
        try:
            await self._queue.update(thread.channel, thread.ts, text=message.text, blocks=message.blocks)
        except SlackFailure as error:
            # This view is lost, not retried in a loop: the next change of the thread renders it again.
            log.warning("could not update an alert's parent: %s", error.code,
                        extra={"alert": thread.key})
        await self._change(thread.key, lambda t: finish_refresh(t, token, thread.view))

    async def _note(self, thread: Thread, key: str) -> None:
        assert thread.channel is not None and thread.ts is not None
        text = self._note_text(thread, key)
        if text is not None:
            await self._queue.post(thread.channel, thread_ts=thread.ts, text=text, unfurl_links=False)
        await self._change(thread.key, lambda t: finish(t, key, result=None if text else "skipped: nothing to say"))
        if key.startswith("escalate:") and text is not None:
            await self._record(thread, "alert:escalate", "posted", key)

    def _note_text(self, thread: Thread, key: str) -> str | None:
        kind, _, rest = key.partition(":")
        if key == ACK_NOTE:
            return ack_text(thread)
        if key == FLAPPING_NOTE:
            return flapping_text(thread)
        if key == PAGE_NOTE:  # an incident over before its page left (it opened resolved) pages nobody
            return page_text(thread.incident) if thread.incident and not thread.resolved else None
        if key == INCIDENT_NOTE:
            return incident_note_text()
        if kind == "escalate":
            tier = int(rest)
            previous = max((int(e.key.partition(":")[2]) for e in thread.effects
                            if e.key.startswith("escalate:") and int(e.key.partition(":")[2]) < tier), default=0)
            return escalation_text(thread, tier, previous)
        what, _, alert_id = rest.partition(":")
        member = thread.member(alert_id)
        if member is None:
            return None
        if what == "joined":
            return incident_line_text(member) if thread.incident else joined_text(thread, member)
        return resolved_text(thread, member)

    async def _triage(self, thread: Thread) -> None:
        routing = thread.routing
        assert routing.job is not None
        spec = JobSpec(routing.job, routing.resource_group, routing.subscription)
        try:
            async with self._triages:
                await self._yield_to_intake()  # a triage is seconds of reads and CPU: not during a storm's intake
                # Behind people's own triages in the Log Analytics queue: nobody is waiting on this one yet.
                report = await triage(spec, self._window(thread), self._readers, self._clock,
                                      deadline_s=self._config.check_deadline_s, config=self._config,
                                      priority=Priority.ALERT)
            message = self._render(report)
            await self._records.save_report(thread.key, report)  # before the thread says it is there
            result = TriageResult(message.text, report.verdict.cause.value)
        except JobbotError as error:  # the job is gone, Azure refused: say so in the parent
            result = TriageResult(error=str(error))
        except Exception:
            log.exception("alert triage failed", extra={"alert": thread.key, "job": routing.job})
            result = TriageResult(error="it failed inside jobbot (logged)")
        await self._change(thread.key, lambda t: finish_triage(t, result))

    async def _member_triage(self, thread: Thread, key: str) -> None:
        """In an incident, one job's triage, posted as a reply in the incident's thread."""
        assert thread.channel is not None and thread.ts is not None
        member = thread.member(key.removeprefix(MEMBER_TRIAGE))
        if member is None or member.job is None:
            await self._change(thread.key, lambda t: finish(t, key, result="skipped: no job"))
            return
        spec = JobSpec(member.job)
        try:
            async with self._triages:
                await self._yield_to_intake()
                report = await triage(spec, self._window(thread), self._readers, self._clock,
                                      deadline_s=self._config.check_deadline_s, config=self._config,
                                      priority=Priority.ALERT)
            message = self._render(report)
            reply: dict[str, Any] = {"text": message.text, "blocks": message.blocks}
            await self._keep_member_report(thread, member.alert_id, report)
        except JobbotError as error:  # the job is gone, Azure refused: say so where the triage would be
            reply = {"text": f":warning: Could not triage *{escape(member.job)}*: {escape(str(error))[:1000]}"}
        except Exception:
            log.exception("incident triage failed", extra={"alert": thread.key, "job": member.job})
            reply = {"text": f":warning: Could not triage *{escape(member.job)}*: it failed inside jobbot (logged)"}
        await self._queue.post(thread.channel, thread_ts=thread.ts, unfurl_links=False, **reply)
        await self._change(thread.key, lambda t: finish_member_triage(t, key))

    async def _keep_member_report(self, thread: Thread, alert_id: str, report: TriageReport) -> None:
        """Keep the triage for the parent (the change the jobs' triages share is the incident's likely
        cause). A store fault costs the parent that line, never the triage's own reply."""
        try:
            await self._records.save_member_report(thread.key, alert_id, report)
        except Exception:
            log.exception("could not keep an incident member's triage", extra={"alert": thread.key})

    async def _parent(self, thread: Thread) -> SlackMessage:
        """The parent as the thread and its stored reports say now (rendered late: today's renderer)."""
        if thread.incident is None:
            return parent_message(thread, await self._report(thread))
        reports = await self._records.member_reports(thread)
        cause = shared_cause(thread.incident.kind, thread.incident.name, reports)
        return parent_message(thread, cause=cause, triaged=len(reports))

    async def _report(self, thread: Thread) -> list[dict[str, Any]]:
        """The triage report's blocks, rendered now from the stored report (today's renderer, old threads too)."""
        stored = await self._records.report(thread.key) if thread.triage and thread.triage.cause else None
        if stored is None:
            return []
        return stored if isinstance(stored, list) else self._render(stored).blocks

    def _render(self, report: TriageReport) -> SlackMessage:
        entry = self._config.job(report.job.name)
        return render_blocks(report, allow_console_excerpts=bool(entry and entry.post_console_excerpts))

    def _window(self, thread: Thread) -> timedelta:
        """From a little before the first alert fired until now: at least the default hour, at most 7 days."""
        now = self._clock.now()
        fired = min((m.fired_at for m in thread.members if m.fired_at), default=None)
        if fired is None or fired >= now:
            return DEFAULT_SINCE
        return min(MAX_SINCE, max(DEFAULT_SINCE, now - fired + LEAD_IN))

    # --- helpers -------------------------------------------------------------------------------------

    async def _yield_to_intake(self) -> None:
        if self._give_way is not None:
            await self._give_way()

    async def _change(self, key: str, fn: Callable[[Thread], Thread | None]) -> tuple[Thread | None, bool]:
        return await self._records.change(key, lambda t: fn(t) if t is not None else None)

    async def _record(self, thread: Thread, action: str, outcome: str, detail: str, *,
                      channel: str | None = None) -> None:
        await self._audit(actor=f"alert:{thread.facts.rule}"[:200], channel=channel or thread.channel or
                          thread.routing.channel, action=action, target=thread.routing.job,
                          detail=f"{thread.key.rstrip('/').rsplit('/', 1)[-1]}: {detail}", outcome=outcome,
                          duration_ms=0)


def _reason(error: BaseException) -> str:
    if isinstance(error, SlackFailure):
        return f"Slack: {error.code}"
    return type(error).__name__
