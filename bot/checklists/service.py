"""The checklist use cases: start, show, clicks, the skip modal, scheduled re-checks.

Every change follows one path: load ids from the click, decide permissions, apply a pure transition
to the stored state with a version check (`ChecklistState.update`), then re-render the one message
from the store with `chat.update`. The message is never the source of anything.

Why re-rendering converges on the latest state, even with several replicas: whoever posts version k
reads the record again afterwards and posts again if it has moved on. So the last `chat.update` Slack
applies was followed by a read that found nothing newer, and any write after that read is followed by
its own render, which reaches Slack later still.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.access import AccessPolicy
from bot.checklists.actions import ActionId, BadValue, parse_value
from bot.checklists.approvals import Approvals
from bot.checklists.model import (
    BOT,
    Checklist,
    Refused,
    Step,
    StepKind,
    attach_message,
    close,
    mark_done,
    note_snapshot,
    record_check,
    record_recheck,
    skip,
    undo,
)
from bot.checklists.plan import RECHECK_AFTER_MIN, PlanFacts, QueueFacts, build_checklist, rollback_refusal
from bot.checklists.render import (
    render_checklist,
    render_recheck,
    render_snapshot,
    render_timeline,
    skip_modal,
)
from bot.checklists.snapshot import snapshot_lines
from bot.checklists.state import ChecklistState, RecheckDue
from bot.checklists.timeline import markdown
from bot.checklists.verify import verify
from bot.clock import Clock
from bot.config import Config
from bot.evidence.payloads import QueueEvidence
from bot.evidence.sources import Readers
from bot.intake import DEFAULT_SINCE, JobSpec
from bot.model import Job, TriageReport
from bot.slack.blocks import escape
from bot.slack.errors import CannotPost, MessageGone, SlackFailure
from bot.slack.handlers import Invocation, Respond
from bot.slack.interactivity import from_message
from bot.triage import triage

log = logging.getLogger(__name__)



class ChecklistService:
    def __init__(
        self,
        *,
        state: ChecklistState,
        clock: Clock,
        readers: Readers,
        client: AsyncWebClient,
        config: Config,
        access: AccessPolicy,
        approvals: Approvals,
        recheck_after_min: tuple[int, ...] = RECHECK_AFTER_MIN,
    ) -> None:
        self.state = state
        self._clock = clock
        self._readers = readers
        self._client = client
        self._config = config
        self._access = access
        self._approvals = approvals
        self.recheck_after_min = recheck_after_min
        # Per checklist: the version last shown in Slack by this replica, and a lock so one replica does
        # not race itself; other replicas are covered by the re-read after each update (module docstring).
        self._shown: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    # --- /jobbot rollback JOB, and the button on triage reports -------------------------------------

    async def rollback_command(self, call: Invocation) -> str:
        assert call.command.job is not None
        return await self.start(call.command.job, call.user_id, call.channel_id, call.respond)

    async def start(self, spec: JobSpec, user: str, channel: str, respond: Respond) -> str:
        """Triage the job, and if the verdict offers a rollback, post the checklist (one per job)."""
        seen: list[Job] = []

        async def on_job(job: Job) -> None:
            seen.append(job)

        report = await triage(spec, DEFAULT_SINCE, self._readers, self._clock,
                              deadline_s=self._config.check_deadline_s, config=self._config, on_job=on_job)
        job = seen[-1]
        refusal = rollback_refusal(report.verdict, report.job.id)
        if refusal is not None:
            await _private(respond, f":no_entry_sign: No rollback checklist for *{escape(job.ref.name)}*: "
                                    f"{escape(refusal)}.")
            return "refused"
        existing = await self.state.open_for(job.ref)
        if existing is not None:
            await self._already_open(existing, respond)
            return "exists"
        history = tuple(await self._readers.jobs.executions(job.ref))
        now = self._clock.now()
        facts = PlanFacts(job, report.verdict, history, report.owners, report.runbook, queue_facts(report))
        checklist = build_checklist(facts, checklist_id=uuid.uuid4().hex, channel=channel, opened_by=user, now=now)
        await self.state.create(checklist)
        if await self.state.claim_open(checklist) != checklist.id:  # someone started one at the same moment
            await self.state.delete(checklist.id)
            winner = await self.state.open_for(job.ref)
            if winner is not None:
                await self._already_open(winner, respond)
            return "exists"
        message = render_checklist(checklist)
        try:
            posted = await self._client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks)
        except CannotPost:
            await self.state.release_open(checklist)
            await self.state.delete(checklist.id)
            await _private(respond, ":warning: I cannot post in this channel, so the checklist has nowhere to "
                                    "live: invite me (`/invite @jobbot`) and run the command again.")
            return "cannot-post"
        await self.state.update(checklist.id, lambda c: attach_message(c, posted["channel"], posted["ts"]))
        snapshot = render_snapshot(snapshot_lines(job, history, now))
        await self._client.chat_postMessage(channel=posted["channel"], thread_ts=posted["ts"], text=snapshot.text,
                                            blocks=snapshot.blocks)
        await self.state.update(checklist.id, lambda c: note_snapshot(c, now))
        # People click as soon as the message appears: a click saved before its ts was stored could not
        # re-render it, so render once more from the store now that the ts is there.
        await self.refresh(checklist.id)
        return "ok"

    async def _already_open(self, checklist: Checklist, respond: Respond) -> None:
        link = await self._permalink(checklist)
        where = f" (<{link}|open it>)" if link else ""
        await _private(respond, f":information_source: A rollback checklist for *{escape(checklist.job.name)}* is "
                                f"already open{where}: `/jobbot checklist {escape(checklist.job.name)}` shows it. "
                                "Close it before starting another.")

    # --- /jobbot checklist JOB ------------------------------------------------------------------------

    async def checklist_command(self, call: Invocation) -> str:
        assert call.command.job is not None
        return await self.show(call.command.job, call.channel_id, call.respond)

    async def show(self, spec: JobSpec, channel: str, respond: Respond) -> str:
        """Rebuild the open checklist's message from the store (re-posting it if it was lost), and show it."""
        found: list[Checklist] = []
        for job_id, checklist_id in (await self.state.open_ids(spec.name)).items():
            if spec.resource_group and f"/resourcegroups/{spec.resource_group.lower()}/" not in job_id:
                continue
            saved = await self.state.load(checklist_id)
            if saved is not None and saved.checklist.is_open:
                found.append(saved.checklist)
        name = escape(spec.name)
        if not found:
            await _private(respond, f"No rollback checklist is open for *{name}*. `/jobbot rollback {name}` starts "
                                    "one.")
            return "none"
        if len(found) > 1:
            groups = ", ".join(f"`{escape(c.job.resource_group)}`" for c in found)
            await _private(respond, f"Checklists are open for jobs named *{name}* in {groups}: name the job by its "
                                    "full ARM id.")
            return "ambiguous"
        checklist = await self._ensure_message(found[0], channel)
        link = await self._permalink(checklist)
        view = render_checklist(checklist, interactive=False)
        head = f"The open rollback checklist for *{name}*" + (f": <{link}|the live message>" if link else "")
        await respond(response_type="ephemeral", replace_original=False, text=view.text,
                      blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": head}}, *view.blocks])
        return "ok"

    async def _ensure_message(self, checklist: Checklist, channel: str) -> Checklist:
        if checklist.ts is not None:
            try:
                await self.refresh(checklist.id, force=True)
                return checklist
            except MessageGone:
                log.info("checklist message is gone, posting it again", extra={"checklist": checklist.id})
        message = render_checklist(checklist)
        posted = await self._client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks)
        saved = await self.state.update(checklist.id, lambda c: attach_message(c, posted["channel"], posted["ts"]))
        await self.refresh(checklist.id)
        return saved.checklist

    # --- clicks ----------------------------------------------------------------------------------------

    async def click(self, action: ActionId, value: str, user: str, channel: str, trigger_id: str | None,
                    message_ts: str = "") -> str:
        """One button press on a checklist (already acked). Returns the outcome for the audit trail."""
        try:
            ref = parse_value(value)
        except BadValue as error:
            await self._ephemeral(channel, user, str(error))
            return "bad-value"
        loaded = await self.state.load(ref.checklist)
        if loaded is None:
            await self._ephemeral(channel, user, "This checklist no longer exists in jobbot's store.")
            return "gone"
        checklist = loaded.checklist
        # Only the checklist's own message, in its own channel, moves it: a button value copied elsewhere or
        # a forged channel in the payload changes nothing. Access is then decided for that channel.
        if not from_message((channel, message_ts), checklist.channel, checklist.ts):
            await self._ephemeral(channel, user, "This button does not belong to this message; nothing was done.")
            return "refused"
        decision = await self._access.decide("checklist", user, checklist.channel)
        if not decision.allowed:
            await self._ephemeral(channel, user, f":no_entry: {decision.reason}")
            return "refused"
        try:
            if not checklist.is_open:
                raise Refused(f"This checklist is closed; `/jobbot rollback {checklist.job.name}` starts a new one.")
            step = checklist.step(ref.step)
            now = self._clock.now()
            if action is ActionId.SKIP:
                return await self._open_skip(checklist, step, user, channel, trigger_id)
            if action is ActionId.CHECK:
                check = await verify(self._readers, checklist, now)
                await self.state.update(checklist.id, lambda c: record_check(c, check, user, now))
            elif action is ActionId.CLOSE:
                closed = await self.state.update(checklist.id, lambda c: close(c, user, now))
                await self._after_close(closed.checklist)
            elif action in (ActionId.DONE, ActionId.UNDO):
                approver = await self._may_change(user, checklist, step)
                change = mark_done if action is ActionId.DONE else undo
                saved = await self.state.update(checklist.id,
                                                lambda c: change(c, step.kind, user, now, approver=approver))
                if step.kind is StepKind.APPLY:
                    await self._apply_changed(saved.checklist)
            else:
                return "unknown-action"
        except Refused as error:
            await self._ephemeral(channel, user, str(error))
            return "refused"
        await self.refresh(checklist.id)
        return "ok"

    async def _open_skip(self, checklist: Checklist, step: Step, user: str, channel: str,
                         trigger_id: str | None) -> str:
        if not checklist.is_open or step.settled or step.kind is StepKind.CLOSE or not trigger_id:
            why = ("That step cannot be skipped now." if checklist.is_open else "This checklist is closed.")
            await self._ephemeral(channel, user, why)
            return "refused"
        # trigger_id expires 3 s after the click: open the modal before anything slow.
        await self._client.views_open(trigger_id=trigger_id, view=skip_modal(checklist, step))
        return "modal"

    async def submit_skip(self, metadata: str, user: str, reason: str) -> str | None:
        """The skip modal was submitted: None when recorded, else the refusal to show in the modal."""
        try:
            ref = parse_value(metadata)
            loaded = await self.state.load(ref.checklist)
            if loaded is None:
                return "This checklist no longer exists in jobbot's store."
            checklist = loaded.checklist
            decision = await self._access.decide("checklist", user, checklist.channel)
            if not decision.allowed:
                return decision.reason
            step = checklist.step(ref.step)
            approver = await self._may_change(user, checklist, step)
            now = self._clock.now()
            await self.state.update(checklist.id, lambda c: skip(c, step.kind, user, reason, now, approver=approver))
        except (BadValue, Refused) as error:
            return str(error)
        return None

    async def _may_change(self, user: str, checklist: Checklist, step: Step) -> bool:
        if not step.needs_approval:
            return True
        return await self._approvals.may_approve(user, checklist.approvers)

    async def _apply_changed(self, checklist: Checklist) -> None:
        """Done starts the +5/+15/+30 min re-checks from now; undo stops them."""
        if checklist.applied_at is not None:
            await self.state.schedule_rechecks(checklist, self.recheck_after_min)
        else:
            await self.state.cancel_rechecks(checklist, self.recheck_after_min)

    async def _after_close(self, checklist: Checklist) -> None:
        await self.state.release_open(checklist)
        await self.state.cancel_rechecks(checklist, self.recheck_after_min)
        if checklist.ts is None:
            return
        names = await self._names(e.actor for e in checklist.events)
        message = render_timeline(checklist, markdown(checklist, names))
        await self._client.chat_postMessage(channel=checklist.channel, thread_ts=checklist.ts, text=message.text,
                                            blocks=message.blocks)

    # --- scheduled re-checks ---------------------------------------------------------------------------

    async def recheck(self, due: RecheckDue) -> None:
        """A re-check timer fired: verify, record it once, post recovered / not recovered in the thread."""
        loaded = await self.state.load(due.checklist)
        if loaded is None or not loaded.checklist.is_open or loaded.checklist.applied_at != due.applied_at:
            return  # closed, or the rollback was undone or redone since: a newer timer covers it
        now = self._clock.now()
        check = await verify(self._readers, loaded.checklist, now)
        try:
            saved = await self.state.update(due.checklist,
                                            lambda c: record_recheck(c, due.after_min, due.applied_at, check, now))
        except Refused:
            return  # another replica recorded it first
        checklist = saved.checklist
        recheck = next(r for r in reversed(checklist.rechecks) if r.after_min == due.after_min)
        if checklist.ts is not None:
            message = render_recheck(checklist, recheck, check)
            await self._client.chat_postMessage(channel=checklist.channel, thread_ts=checklist.ts, text=message.text,
                                                blocks=message.blocks)
        await self.refresh(checklist.id)

    # --- the message -----------------------------------------------------------------------------------

    async def refresh(self, checklist_id: str, *, force: bool = False) -> None:
        """Show the latest stored state in the checklist's message (chat.update), until nothing newer exists."""
        lock = self._locks.setdefault(checklist_id, asyncio.Lock())
        async with lock:
            while True:
                saved = await self.state.load(checklist_id)
                if saved is None or saved.checklist.ts is None:
                    return
                if not force and self._shown.get(checklist_id, 0) >= saved.version:
                    return
                force = False
                message = render_checklist(saved.checklist)
                await self._client.chat_update(channel=saved.checklist.channel, ts=saved.checklist.ts,
                                               text=message.text, blocks=message.blocks)
                self._shown[checklist_id] = saved.version

    async def _permalink(self, checklist: Checklist) -> str | None:
        if checklist.ts is None:
            return None
        try:
            found = await self._client.chat_getPermalink(channel=checklist.channel, message_ts=checklist.ts)
        except SlackFailure:
            return None
        link = found.get("permalink")
        return str(link) if link else None

    async def _names(self, actors: Iterable[str]) -> Mapping[str, str]:
        """Display names for the Markdown timeline (a review document cannot resolve Slack ids)."""
        names: dict[str, str] = {}
        for actor in dict.fromkeys(a for a in actors if a != BOT):
            try:
                user: dict[str, Any] = (await self._client.users_info(user=actor)).get("user") or {}
            except SlackFailure:
                continue
            profile = user.get("profile") or {}
            name = profile.get("display_name") or profile.get("real_name") or user.get("name")
            if name:
                names[actor] = str(name)
        return names

    async def _ephemeral(self, channel: str, user: str, text: str) -> None:
        try:
            await self._client.chat_postEphemeral(channel=channel, user=user, text=text)
        except SlackFailure:
            log.warning("could not send an ephemeral answer", extra={"channel": channel}, exc_info=True)


def queue_facts(report: TriageReport) -> QueueFacts | None:
    """The event source as the triage measured it (the baseline that "drains" is judged against)."""
    check = report.check("queue_depth")
    queue = check.found(QueueEvidence) if check else None
    if queue is None:
        return None
    return QueueFacts(queue.source, queue.namespace, queue.entity, queue.depth, queue.dead_letter, queue.capacity)


async def _private(respond: Respond, text: str) -> None:
    await respond(response_type="ephemeral", replace_original=False, text=text)
