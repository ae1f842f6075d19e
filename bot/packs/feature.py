"""The **Evidence pack** button under a `/jobbot review` message: the click builds the audit evidence pack
(review.md §3) from fresh reads of the job over the review's window and uploads it as one zip into the
message's thread (slack_sdk `files_upload_v2`, bot scope `files:write`).

It obeys the same access rules as `/jobbot review` (channel and who), and leaves one audit entry.
Registered like any extension (bot/features.py): `build(services)` returns the feature.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackRequestError

from bot.azure.credentials import reader_identity
from bot.errors import JobbotError, JobNotFound, UpstreamError
from bot.feature_api import Endpoint, Services
from bot.intake import parse_job
from bot.review.pack_files import zip_pack
from bot.review.pack_service import DEFAULT_DAYS, evidence_pack
from bot.review.service import parse_window
from bot.slack.commands import Verb
from bot.slack.errors import CannotPost, SlackFailure
from bot.slack.guarded_click import guarded_click
from bot.slack.interactivity import Click
from bot.slack.listening import Audited, Tell, just_ack
from bot.slack.mrkdwn import escape
from bot.slack.pack_button import EVIDENCE_PACK_ACTION, parse_pack_value

log = logging.getLogger(__name__)
SORRY = ":warning: Sorry, building the evidence pack failed inside jobbot. It has been logged."
AUDIT_ENTRIES = 1000  # the newest entries about the job; reviews, approvals and rollbacks are among them


class EvidencePackFeature:
    name = "evidence-pack"

    def __init__(self, services: Services) -> None:
        self._services = services

    def endpoints(self) -> dict[str, Endpoint]:
        return {}

    def register(self, bolt: AsyncApp) -> None:
        bolt.action(EVIDENCE_PACK_ACTION)(ack=just_ack, lazy=[self._on_click])

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def _on_click(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        await guarded_click(self._services, body, action, verb=Verb.REVIEW, audit_action="click:evidence-pack",
                            sorry=SORRY, work=self._pack)

    async def _pack(self, click: Click, entry: Audited, tell: Tell) -> str:
        job_id, window_text = parse_pack_value(click.value)
        spec, window = parse_job(job_id), parse_window(window_text)
        entry.target = spec.name
        if not click.channel or not click.message_ts:
            await tell(":warning: The evidence pack goes into the review's thread: click it on the review message.")
            return "refused"
        return await self._upload(spec, window, click.channel, click.message_ts, tell)

    async def _upload(self, spec: Any, window: Any, channel: str, thread_ts: str, tell: Tell) -> str:
        services = self._services
        try:
            report, files = await evidence_pack(
                spec, window, DEFAULT_DAYS, services.readers, services.clock, services.config,
                reader=reader_identity(scenario=services.settings.scenario is not None),
                audit=self._audit_entries, secrets=services.settings.secrets)
        except JobNotFound as error:
            await tell(f":mag: Job `{escape(error.name)}` was not found, so there is no evidence to pack.")
            return "not-found"
        except UpstreamError as error:
            await tell(f":warning: Could not look up the job for the evidence pack: {escape(str(error))}")
            return "upstream-error"
        except JobbotError as error:
            await tell(f":warning: {escape(str(error))}")
            return "error"
        stamp = services.clock.now().strftime("%Y%m%dT%H%MZ")
        folder = f"evidence-{report.job.name}-{stamp}"
        try:
            await services.client.files_upload_v2(
                channel=channel, thread_ts=thread_ts, file=zip_pack(folder, files), filename=f"{folder}.zip",
                title=f"Evidence pack: {report.job.name} ({DEFAULT_DAYS} days)",
                initial_comment=(f":package: Evidence pack for *{escape(report.job.name)}*: {len(files)} files, "
                                 f"Activity Log and executions over {DEFAULT_DAYS} days; `manifest.json` lists "
                                 "every read and the SHA-256 of each file, and `README.md` maps them to \"were "
                                 "access and behaviour intentional?\". Secret values are masked."))
        except SlackFailure as error:
            await tell(f":warning: Slack refused the evidence pack upload: {_why(error)}")
            return f"slack-{error.code}"
        except SlackRequestError as error:  # the upload itself (step 2 of files_upload_v2) was refused
            log.warning("evidence pack upload failed: %s", error)
            await tell(":warning: Slack did not take the evidence pack's file; try again in a moment.")
            return "slack-upload-failed"
        return "ok"

    async def _audit_entries(self, job: str) -> Sequence[Mapping[str, Any]]:
        entries = await self._services.store.audit.recent(AUDIT_ENTRIES, target=job)
        return [dataclasses.asdict(e) for e in entries]


def _why(error: SlackFailure) -> str:
    if error.code == "missing_scope":
        return ("jobbot's Slack app lacks the `files:write` scope: add it (deploy/slack-app-manifest.yaml) and "
                "reinstall the app.")
    if isinstance(error, CannotPost):
        return "jobbot may not post files in this channel (invite it, or check the channel is not archived)."
    return f"`{escape(error.code)}`."


def build(services: Services) -> EvidencePackFeature:
    return EvidencePackFeature(services)
