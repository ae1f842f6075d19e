"""The rollback checklist feature of `jobbot serve`: the `/jobbot rollback|checklist` verbs, the buttons and
the skip modal (Bolt listeners: the clicks ack at once and work in a lazy half), and the loop that fires the
+5/+15/+30 min re-checks.

Registered like any extension (bot/features.py): `build(services)` returns the feature.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Sequence
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.checklists.actions import ActionId, ViewId, parse_value
from bot.checklists.approvals import Approvals
from bot.checklists.plan import RECHECK_AFTER_MIN, offers_rollback
from bot.checklists.render import REASON_BLOCK, skip_reason
from bot.checklists.service import ChecklistService
from bot.checklists.state import RECHECK_KIND, ChecklistState, RecheckDue
from bot.errors import InvalidRequest
from bot.feature_api import Endpoint, Services
from bot.intake import parse_job
from bot.model import TriageReport
from bot.slack.blocks import ButtonSpec
from bot.slack.commands import Command, Verb
from bot.slack.handlers import Invocation
from bot.slack.interactivity import Click, parse_click
from bot.slack.listening import Audited, Tell, audited, ephemeral, just_ack

log = logging.getLogger(__name__)

POLL_S = 1.0  # one indexed SELECT per second per replica: cheap, and re-checks land within a second
LEASE_S = 120.0  # a re-check whose poller died is handed out again after this
STEP_ACTIONS = (ActionId.DONE, ActionId.SKIP, ActionId.UNDO, ActionId.CHECK, ActionId.CLOSE)
_MODAL_ERROR_MAX = 300


class ChecklistFeature:
    name = "checklists"

    def __init__(self, services: Services, *, poll_s: float = POLL_S,
                 recheck_after_min: tuple[int, ...] = RECHECK_AFTER_MIN) -> None:
        self._services = services
        self._poll_s = poll_s
        self._task: asyncio.Task[None] | None = None
        client = services.client

        async def members(group: str) -> Sequence[str]:
            response = await client.usergroups_users_list(usergroup=group)
            return list(response.get("users") or [])

        self.service = ChecklistService(
            state=ChecklistState(services.store), clock=services.clock, readers=services.readers, client=client,
            config=services.config, access=services.access, approvals=Approvals(members),
            recheck_after_min=recheck_after_min)
        services.commands.handle(Verb.ROLLBACK, self.service.rollback_command)
        services.commands.handle(Verb.CHECKLIST, self.service.checklist_command)
        services.commands.add_report_actions(_start_button)

    def endpoints(self) -> dict[str, Endpoint]:
        return {}

    def register(self, bolt: AsyncApp) -> None:
        for action in STEP_ACTIONS:
            bolt.action(action.value)(ack=just_ack, lazy=[self._on_step])
        bolt.action(ActionId.START.value)(ack=just_ack, lazy=[self._on_start])
        bolt.view(ViewId.SKIP_REASON.value)(self._on_skip_submitted)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._poll_timers(), name="checklist-rechecks")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # --- listeners ----------------------------------------------------------------------------------

    async def _on_step(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        click = parse_click(body, action)
        kind = ActionId(click.action_id)
        entry = Audited(click.user, click.channel, f"click:{kind.name.lower()}", click.value,
                        sorry=":warning: Sorry, that click failed inside jobbot. It has been logged; the checklist's "
                              "state is unchanged unless the message says otherwise.")
        async with audited(self._services.audit, entry, self._tell(click)):
            entry.outcome = await self.service.click(kind, click.value, click.user, click.channel, click.trigger_id,
                                                     click.message_ts)

    async def _on_start(self, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        click = parse_click(body, action)
        user, channel, tell = click.user, click.channel, self._tell(click)
        entry = Audited(user, channel, "click:start", click.value,
                        sorry=":warning: Sorry, starting the checklist failed inside jobbot. It has been logged.")
        async with audited(self._services.audit, entry, tell):
            try:
                spec = parse_job(click.value)  # the job's ARM id
            except InvalidRequest as error:
                await tell(str(error))
                entry.outcome = "refused"
                return
            decision = await self._services.access.decide(Verb.ROLLBACK.value, user, channel)
            if not decision.allowed:
                await tell(f":no_entry: {decision.reason}")
                entry.outcome = "refused"
                return
            # The same path as `/jobbot rollback`: one place for its errors and answers.
            entry.outcome = await self._services.commands.run(
                Invocation(Command(Verb.ROLLBACK, spec), user, channel, respond))

    async def _on_skip_submitted(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = str((body.get("user") or {}).get("id") or "")
        metadata = str(view.get("private_metadata") or "")
        entry = Audited(user, None, "click:skip-reason", metadata)
        async with audited(self._services.audit, entry, _nowhere):
            # Validation belongs in the ack (the modal shows it next to the field): the store write is fast.
            error = await self.service.submit_skip(metadata, user, skip_reason(view))
            if error is not None:
                await ack(response_action="errors", errors={REASON_BLOCK: _plain(error)})
                entry.outcome = "refused"
                return
            await ack()
            await self.service.refresh(parse_value(metadata).checklist)
            entry.outcome = "ok"

    # --- re-check timers ----------------------------------------------------------------------------

    async def _poll_timers(self) -> None:
        while True:
            try:
                await self.run_due_timers()
            except Exception:
                log.exception("checklist re-check poll failed")
            await asyncio.sleep(self._poll_s)

    async def run_due_timers(self) -> int:
        """Fire the re-checks that are due; returns how many fired."""
        services = self._services
        timers = services.store.timers
        fired = 0
        for timer in await timers.due(services.clock.now(), services.replica_id, lease_s=LEASE_S,
                                      kinds=[RECHECK_KIND]):
            try:
                await self.service.recheck(RecheckDue.from_payload(timer.payload))
            except Exception:  # left claimed: the lease hands it out again
                log.exception("checklist re-check failed", extra={"timer": timer.key})
                continue
            await timers.done(timer.id)
            fired += 1
        return fired

    # --- helpers ------------------------------------------------------------------------------------

    def _tell(self, click: Click) -> Tell:
        return ephemeral(self._services.client, click.channel, click.user)


def _start_button(report: TriageReport) -> list[ButtonSpec]:
    """A "Start rollback checklist" button when the verdict offers a rollback. Its value is the job's ARM
    id: the click triages again and plans from fresh evidence."""
    if not offers_rollback(report.verdict, report.job.id):
        return []
    return [ButtonSpec("Start rollback checklist", ActionId.START.value, value=report.job.id, style="primary")]


def build(services: Services) -> ChecklistFeature:
    return ChecklistFeature(services)


async def _nowhere(_: str) -> None:
    """A submitted modal is closed: a failure after it is logged, there is nothing to tell it in."""


def _plain(text: str) -> str:
    """A refusal fit for a modal's error line (plain text): mentions as @ids, no mrkdwn marks."""
    text = re.sub(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>", r"@\1", text)
    text = re.sub(r"<!subteam\^([A-Z0-9]+)(?:\|([^>]*))?>", lambda m: "@" + (m.group(2) or m.group(1)), text)
    text = text.replace("*", "").replace("`", "")
    return text if len(text) <= _MODAL_ERROR_MAX else text[: _MODAL_ERROR_MAX - 1] + "…"
