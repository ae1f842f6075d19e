"""The review feature of `jobbot serve`: carries out `/jobbot review` and listens to the review message's
buttons (acked at once; the work runs in a lazy half, one audit entry per click).

Registered like any extension (bot/features.py): `build(services)` returns the feature.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.feature_api import Endpoint, Services
from bot.reviews.actions import ActionId
from bot.reviews.posted import PostedReviews
from bot.reviews.service import Outcome, ReviewMessages
from bot.slack.commands import Verb
from bot.slack.handlers import Respond
from bot.slack.interactivity import Click, parse_click
from bot.slack.listening import Audited, Tell, audited, ephemeral, just_ack

ClickWork = Callable[[Click, Tell, Respond | None], Awaitable[Outcome]]


class ReviewFeature:
    name = "reviews"

    def __init__(self, services: Services) -> None:
        self._services = services
        self.service = ReviewMessages(store=PostedReviews(services.store), readers=services.readers,
                                      clock=services.clock, config=services.config, client=services.client,
                                      access=services.access, secrets=services.settings.secrets,
                                      snapshots=services.store.snapshots)
        services.commands.handle(Verb.REVIEW, self.service.review_command)

    def endpoints(self) -> dict[str, Endpoint]:
        return {}

    def register(self, bolt: AsyncApp) -> None:
        bolt.action(ActionId.FULL_REPORT.value)(ack=just_ack, lazy=[self._on_full_report])
        bolt.action(ActionId.APPROVE.value)(ack=just_ack, lazy=[self._on_approve])

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def _on_full_report(self, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        await self._click(body, action, respond, "click:review-full-report", self.service.full_report,
                          sorry=":warning: Sorry, posting the full report failed inside jobbot. It has been logged.")

    async def _on_approve(self, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        await self._click(body, action, respond, "click:review-approve", self.service.approve,
                          sorry=":warning: Sorry, approving failed inside jobbot. It has been logged; nothing was "
                                "approved unless the message says so.")

    async def _click(self, body: dict[str, Any], action: dict[str, Any], respond: Any, name: str, work: ClickWork,
                     *, sorry: str) -> None:
        click = parse_click(body, action)
        tell = ephemeral(self._services.client, click.channel, click.user)
        entry = Audited(click.user, click.channel or None, name, f"review={click.value[:64]}", sorry=sorry)
        async with audited(self._services.audit, entry, tell):
            outcome = await work(click, tell, respond)
            entry.outcome, entry.target = outcome.outcome, outcome.job
            if outcome.detail is not None:
                entry.detail = outcome.detail


def build(services: Services) -> ReviewFeature:
    return ReviewFeature(services)
