"""Socket Mode: check the app-level token once at start, connect, and close within a bound.

slack_sdk's Socket Mode client reconnects on its own for as long as the process lives; with a token Slack
refuses, that is a process that looks up but never receives a command. So the token is checked with one
`apps.connections.open` call before connecting, and a refusal is a start-up error that names the variable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ConfigError
from bot.slack.errors import translate

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 2.0  # SIGTERM must end the process within 5 s; closing the socket gets this share


async def check_app_token(client: AsyncWebClient, app_token: str) -> None:
    """Raise ConfigError unless Slack accepts `app_token` for Socket Mode."""
    if not app_token.startswith("xapp-"):
        raise ConfigError(["SLACK_APP_TOKEN: not an app-level token (they start with xapp-)"])
    try:
        await asyncio.wait_for(client.apps_connections_open(app_token=app_token), CHECK_TIMEOUT_S)
    except SlackApiError as error:  # any client, the bot's own or a bare one
        code = translate("apps.connections.open", error).code
        raise ConfigError([f"SLACK_APP_TOKEN: Slack refused it for Socket Mode ({code})"]) from None
    except (TimeoutError, OSError, aiohttp.ClientError) as error:
        raise ConfigError([f"SLACK_APP_TOKEN: could not reach Slack to check it ({type(error).__name__})"]) from None


async def connect(bolt: AsyncApp, app_token: str, stack: contextlib.AsyncExitStack) -> None:
    """Check the token, connect, and register a bounded close on `stack`."""
    await check_app_token(bolt.client, app_token)
    handler = AsyncSocketModeHandler(bolt, app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]

    async def close() -> None:
        try:
            await asyncio.wait_for(handler.close_async(), CLOSE_TIMEOUT_S)  # type: ignore[no-untyped-call]
        except (TimeoutError, Exception):
            log.warning("Socket Mode connection did not close cleanly in %.0f s", CLOSE_TIMEOUT_S)

    stack.push_async_callback(close)
