"""The review message's life: posting it (and keeping the report as data), the *Full report* in its thread,
and *Approve change*.

A click counts only on the review's own message in its own channel (`from_message`), and only for someone the
access rules let act there: *Full report* passes the `review` rule (it shows what `/jobbot review` shows);
*Approve change* passes `approve` when `access.commands.approve` is configured, else the same rule as
`/jobbot rollback` — approving a production change is no lesser act than starting a rollback.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC

from slack_sdk.web.async_client import AsyncWebClient

from bot.access import AccessPolicy
from bot.clock import Clock
from bot.config import Config
from bot.evidence.sources import Readers
from bot.redact import redact_data
from bot.review.approval import Approval, report_sha256
from bot.review.report_json import review_from_dict, review_to_dict
from bot.review.service import SnapshotStore, review
from bot.reviews.actions import review_buttons
from bot.reviews.posted import PostedReview, PostedReviews
from bot.slack.blocks import SlackMessage
from bot.slack.commands import Verb
from bot.slack.errors import CannotPost, MessageGone
from bot.slack.handlers import Invocation, Respond
from bot.slack.interactivity import Click, from_message
from bot.slack.listening import Tell
from bot.slack.review_blocks import approval_text, render_review_blocks
from bot.slack.review_thread import render_full_report

log = logging.getLogger(__name__)

APPROVE_RULE = "approve"
NOT_THIS_MESSAGE = "This button does not belong to this message; nothing was done."
GONE = "jobbot has no record of this review any more; `/jobbot review JOB` posts a new one."


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a click came to, for the audit trail: its outcome, the job, and the detail to record."""

    outcome: str
    job: str | None = None
    detail: str | None = None


class ReviewMessages:
    def __init__(self, *, store: PostedReviews, readers: Readers, clock: Clock, config: Config,
                 client: AsyncWebClient, access: AccessPolicy, secrets: Sequence[str] = (),
                 snapshots: SnapshotStore | None = None) -> None:
        self.store = store
        self._readers, self._clock, self._config = readers, clock, config
        self._client, self._access, self._secrets = client, access, tuple(secrets)
        self._snapshots = snapshots  # where each review keeps the job as it saw it (for `review --diff`)

    # --- /jobbot review JOB [window] ----------------------------------------------------------------

    async def review_command(self, call: Invocation) -> str:
        """Review the job, keep the report as data, post it with its buttons. JobNotFound and the like pass
        to the command service, which answers them."""
        command = call.command
        assert command.job is not None and command.since is not None
        report = await review(command.job, command.since, self._readers, self._clock, self._config,
                              snapshots=self._snapshots)
        # Stored as the CLI prints it (redacted value by value): the document the approval hash is taken of.
        document = redact_data(review_to_dict(report), self._secrets)
        posted = PostedReview(uuid.uuid4().hex, document, call.channel_id, None, call.user_id, self._clock.now())
        await self.store.create(posted)
        message = self._message(posted)
        try:
            response = await self._client.chat_postMessage(channel=call.channel_id, text=message.text,
                                                           blocks=message.blocks)
        except CannotPost:
            await call.respond(response_type="in_channel", text=message.text, blocks=message.blocks)
            return "ok"
        await self.store.attach_message(posted.id, str(response["channel"]), str(response["ts"]))
        return "ok"

    # --- the buttons --------------------------------------------------------------------------------

    async def full_report(self, click: Click, tell: Tell, respond: Respond | None) -> Outcome:
        posted = await self._clicked(click, tell)
        if isinstance(posted, Outcome):
            return posted
        job = str(posted.document["job"]["name"])
        decision = await self._access.decide(Verb.REVIEW.value, click.user, posted.channel)
        if not decision.allowed:
            await tell(f":no_entry: {decision.reason}")
            return Outcome("refused", job)
        if posted.full_report_ts is not None:
            await tell("The full report is already in this message's thread.")
            return Outcome("duplicate", job)
        messages = render_full_report(review_from_dict(posted.document))
        thread = posted.ts or click.message_ts
        try:
            first = None
            for message in messages:
                response = await self._client.chat_postMessage(channel=posted.channel, thread_ts=thread,
                                                               text=message.text, blocks=message.blocks)
                first = first or str(response["ts"])
        except CannotPost:
            if respond is None:
                raise
            for message in messages:  # jobbot cannot write in the channel: the clicker gets it privately
                await respond(response_type="ephemeral", replace_original=False, text=message.text,
                              blocks=message.blocks)
            return Outcome("ok", job, f"review={posted.id} privately")
        if first is not None:
            await self.store.full_report_posted(posted.id, first)
        return Outcome("ok", job, f"review={posted.id} messages={len(messages)}")

    async def approve(self, click: Click, tell: Tell, respond: Respond | None) -> Outcome:
        posted = await self._clicked(click, tell)
        if isinstance(posted, Outcome):
            return posted
        job = str(posted.document["job"]["name"])
        decision = await self._access.decide(self._approve_rule(), click.user, posted.channel)
        if not decision.allowed:
            await tell(f":no_entry: Not approved: {decision.reason}")
            return Outcome("refused", job)
        digest = report_sha256(posted.document)
        saved, recorded = await self.store.approve(posted.id, Approval(click.user, self._clock.now(), digest))
        approval = saved.approval
        assert approval is not None
        detail = (f"job={posted.document['job']['id']} report_sha256={approval.report_sha256} "
                  f"approved_at={approval.at.astimezone(UTC).isoformat()} review={posted.id}")
        try:
            await self._show(saved, click, respond)
        except Exception:  # the approval is stored: the audit entry must say so even if Slack fails now
            log.warning("review approved, but its message could not be updated", exc_info=True,
                        extra={"review": posted.id})
            await tell(f"{approval_text(approval)} — the message itself could not be updated.")
        if not recorded:
            await tell(f"Already approved: {approval_text(approval)}.")
            return Outcome("duplicate", job, f"already approved: {detail}")
        return Outcome("approved", job, detail)

    # --- helpers ------------------------------------------------------------------------------------

    def _approve_rule(self) -> str:
        return APPROVE_RULE if APPROVE_RULE in self._config.access.commands else Verb.ROLLBACK.value

    async def _clicked(self, click: Click, tell: Tell) -> PostedReview | Outcome:
        """The posted review the click is on; else the user is told why not and the outcome is returned (it
        is gone, or the click did not come from its message)."""
        posted = await self.store.load(click.value) if click.value else None
        if posted is None:
            await tell(GONE)
            return Outcome("not-found")
        if not from_message((click.channel, click.message_ts), posted.channel, posted.ts):
            await tell(NOT_THIS_MESSAGE)
            return Outcome("refused", str(posted.document["job"]["name"]))
        return posted

    def _message(self, posted: PostedReview) -> SlackMessage:
        """The review message, rendered from the stored document (as posted, or as it is now)."""
        report = review_from_dict(posted.document)
        return render_review_blocks(report, actions=review_buttons(posted.id, report), approval=posted.approval)

    async def _show(self, posted: PostedReview, click: Click, respond: Respond | None) -> None:
        """Update the review message to what the store holds now."""
        message = self._message(posted)
        if posted.ts is not None:
            try:
                await self._client.chat_update(channel=posted.channel, ts=posted.ts, text=message.text,
                                               blocks=message.blocks)
                return
            except (MessageGone, CannotPost):
                log.info("review message cannot be updated, replacing it through response_url",
                         extra={"review": posted.id})
        if respond is not None:  # posted through response_url: only that can change it
            await respond(replace_original=True, text=message.text, blocks=message.blocks)
