"""The **Triage** button beside each row of a `/jobbot status` board: the click runs exactly what
`/jobbot triage JOB` runs (same access rule, same message that fills in as checks finish).

Registered like any extension (bot/features.py): `build(services)` returns the feature.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.feature_api import Endpoint, Services
from bot.intake import DEFAULT_SINCE, parse_job
from bot.slack.commands import Command, Verb
from bot.slack.guarded_click import guarded_click
from bot.slack.handlers import Invocation
from bot.slack.interactivity import Click
from bot.slack.listening import Audited, Tell, just_ack
from bot.status.board import TRIAGE_ACTION


class StatusBoardFeature:
    name = "status-board"

    def __init__(self, services: Services) -> None:
        self._services = services

    def endpoints(self) -> dict[str, Endpoint]:
        return {}

    def register(self, bolt: AsyncApp) -> None:
        bolt.action(TRIAGE_ACTION)(ack=just_ack, lazy=[self._on_click])

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def _on_click(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        await guarded_click(self._services, body, action, verb=Verb.TRIAGE, audit_action="click:status-triage",
                            sorry=":warning: Sorry, that triage failed inside jobbot. It has been logged.",
                            work=self._triage)

    async def _triage(self, click: Click, entry: Audited, tell: Tell) -> str:
        services = self._services
        spec = parse_job(click.value)
        entry.target = spec.name

        async def respond(text: str = "", blocks: Any = None, response_type: str = "ephemeral", **_: Any) -> None:
            # A triage answers privately (errors) or, when it cannot post in the channel, in place.
            if response_type == "in_channel":
                await services.client.chat_postMessage(channel=click.channel, text=text, blocks=blocks)
            else:
                await tell(text)

        command = Command(Verb.TRIAGE, spec, DEFAULT_SINCE)
        return await services.commands.run(Invocation(command, click.user, click.channel, respond))


def build(services: Services) -> StatusBoardFeature:
    return StatusBoardFeature(services)
