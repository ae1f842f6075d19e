"""What every Slack listener does around its own work: one audit entry per request, and one error handler.

    async with audited(audit, Audited(user, channel, "click:ack-alert", detail,
                                      sorry="Sorry, acknowledging failed inside jobbot."), tell) as entry:
        ...
        entry.outcome = "ok"

The entry is written to the audit trail however the block ends (its outcome stays "error" unless the
block set one). An exception leaves the block as `ListenerFailed`, which Bolt hands to the app's one
error handler (`on_error`, registered with `app.error`): it logs the cause and tells the user plainly,
without a stack trace, through the listener's own `tell`. Lazy listeners' errors reach it too
(`bot/slack/lazy.py`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

Audit = Callable[..., Awaitable[None]]
Tell = Callable[[str], Awaitable[Any]]
SORRY = ":warning: Sorry, that failed inside jobbot. It has been logged."


@dataclass
class Audited:
    """One audit entry in the making; the listener sets `outcome` (and `target` once it knows it)."""

    actor: str
    channel: str | None
    action: str
    detail: str
    target: str | None = None
    outcome: str = "error"
    sorry: str = SORRY  # what the user is told if the work fails


async def just_ack(ack: Any) -> None:
    """The ack function of a listener whose work is all in its lazy half (`bot/slack/lazy.py`)."""
    await ack()


def ephemeral(client: AsyncWebClient, channel: str, user: str) -> Tell:
    """How to tell the user who clicked something privately (chat.postEphemeral); a failure is only logged."""

    async def tell(text: str) -> None:
        try:
            await client.chat_postEphemeral(channel=channel, user=user, text=text)
        except Exception:
            log.warning("could not tell the user about their click", exc_info=True)

    return tell


class ListenerFailed(Exception):
    """A listener's work failed; carries what to tell the user and how."""

    def __init__(self, entry: Audited, tell: Tell) -> None:
        super().__init__(f"{entry.action} failed")
        self.entry = entry
        self.tell = tell


@contextlib.asynccontextmanager
async def audited(audit: Audit, entry: Audited, tell: Tell, *,
                  started: float | None = None) -> AsyncIterator[Audited]:
    """Time the block, record `entry` when it ends, and turn its failure into ListenerFailed."""
    started = time.monotonic() if started is None else started
    try:
        yield entry
    except Exception as error:
        raise ListenerFailed(entry, tell) from error
    finally:
        await record(audit, entry, started)


async def record(audit: Audit, entry: Audited, started: float) -> None:
    """Write `entry` to the audit trail, timed from `started` (time.monotonic)."""
    await audit(actor=entry.actor, channel=entry.channel, action=entry.action, target=entry.target,
                detail=entry.detail[:500], outcome=entry.outcome, duration_ms=int((time.monotonic() - started) * 1000))


async def on_error(error: Exception, body: dict[str, Any] | None = None) -> None:
    """The Bolt app's error handler: log what failed, tell the user when the listener said how."""
    if not isinstance(error, ListenerFailed):
        log.error("Slack request failed", exc_info=error, extra={"type": (body or {}).get("type")})
        return
    entry, cause = error.entry, error.__cause__ or error
    log.error("%s failed", entry.action, exc_info=cause,
              extra={"action": entry.action, "target": entry.target, "detail": entry.detail[:200]})
    try:
        await error.tell(entry.sorry)
    except Exception:
        log.warning("could not tell the user about a failure", exc_info=True)
