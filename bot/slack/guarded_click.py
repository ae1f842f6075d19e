"""What every button that starts work does first: parse the click, check the access rule of the command it
stands for, and leave one audit entry, whatever happens after.

    async def _on_click(self, body, action):
        await guarded_click(self._services, body, action, verb=Verb.TRIAGE, audit_action="click:status-triage",
                            sorry="Sorry, that triage failed inside jobbot.", work=self._triage)

`work(click, entry, tell)` returns the audit outcome ("ok", "not-found", …) and may set `entry.target`; an
`InvalidRequest` it raises (a value that does not parse) is told to the user and audited as refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bot.errors import InvalidRequest
from bot.slack.commands import Verb
from bot.slack.interactivity import Click, parse_click
from bot.slack.listening import Audited, Tell, audited, ephemeral
from bot.slack.mrkdwn import escape

if TYPE_CHECKING:  # the feature API imports the Slack handlers: a runtime import would go round in a circle
    from bot.feature_api import Services

ClickWork = Callable[[Click, Audited, Tell], Awaitable[str]]


async def guarded_click(services: Services, body: dict[str, Any], action: dict[str, Any], *, verb: Verb,
                        audit_action: str, sorry: str, work: ClickWork) -> None:
    click = parse_click(body, action)
    tell = ephemeral(services.client, click.channel, click.user)
    entry = Audited(click.user, click.channel, audit_action, click.value, sorry=sorry)
    async with audited(services.audit, entry, tell):
        decision = await services.access.decide(verb.value, click.user, click.channel)
        if not decision.allowed:
            await tell(f":no_entry: {decision.reason}")
            entry.outcome = "refused"
            return
        try:
            entry.outcome = await work(click, entry, tell)
        except InvalidRequest as error:
            await tell(f":warning: {escape(str(error))}")
            entry.outcome = "refused"
