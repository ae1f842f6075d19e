"""Attack: with SLACK_APP_TOKEN set (Socket Mode) and no signing secret, POST unsigned slash commands and
clicks to `/slack/events` on the bot's port. The route must not exist in Socket Mode, HTTP must never run
unverified, and serving Slack over HTTP without a signing secret must not start at all."""

from __future__ import annotations

import asyncio
import os
import time
from unittest import mock

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import AccessPolicy
from bot.cli import main
from bot.errors import ConfigError
from bot.server import create_app
from bot.settings import Settings
from bot.slack.app import bolt_request, build_bolt_app
from tests.support.slack_requests import slash_command_body

TOKEN = "xoxb-1111-2222-jobbottesttoken"
APP_TOKEN = "xapp-1-A0JOBBOT-1234-socketmodetoken"


async def _post(app: object, body: bytes, headers: dict[str, str]) -> httpx.Response:
    # No lifespan: the question is only whether the route exists at all.
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        return await client.post("/slack/events", content=body, headers=headers)


@pytest.mark.parametrize("secret", ["", "8f14e45fceea167a5a36dedd4bea2543"])
def test_socket_mode_does_not_route_http_slack_events(secret: str) -> None:
    app = create_app(Settings(slack_bot_token=TOKEN, slack_app_token=APP_TOKEN, slack_signing_secret=secret))
    body = slash_command_body("rollback orders-processor")
    response = asyncio.run(_post(app, body, {"Content-Type": "application/x-www-form-urlencoded"}))
    assert response.status_code == 404


def test_serving_slack_over_http_without_a_signing_secret_is_refused_at_start() -> None:
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        create_app(Settings(slack_bot_token=TOKEN, slack_signing_secret=""))


def test_jobbot_serve_without_a_signing_secret_says_so_without_a_traceback(
        capsys: pytest.CaptureFixture[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "JOBBOT_"))}
    env["SLACK_BOT_TOKEN"] = TOKEN
    with mock.patch.dict(os.environ, env, clear=True):
        assert main(["serve", "--host", "127.0.0.1"]) == 2
    err = capsys.readouterr().err
    assert "SLACK_SIGNING_SECRET" in err and "Traceback" not in err


class _Service:
    def __init__(self) -> None:
        self.runs = 0

    async def run(self, invocation: object) -> str:
        self.runs += 1
        return "ok"


async def _nothing(**_: object) -> None:
    return None


def test_bolt_verifies_every_http_request_even_when_built_without_a_secret() -> None:
    """Defence in depth: the Bolt app itself never turns verification off (Socket Mode requests skip it
    inside Bolt because they do not come over HTTP)."""
    service = _Service()

    async def dispatch() -> int:
        bolt = build_bolt_app(client=AsyncWebClient(token=TOKEN, base_url="http://127.0.0.1:9/"),
                              signing_secret="", service=service,  # type: ignore[arg-type]
                              access=AccessPolicy(None, _no_members), audit=_nothing)
        body = slash_command_body("help")
        headers = {"content-type": "application/x-www-form-urlencoded",
                   "x-slack-request-timestamp": str(int(time.time())), "x-slack-signature": "v0=forged"}
        response = await bolt.async_dispatch(bolt_request(body, {}, headers))
        return int(response.status)

    assert asyncio.run(dispatch()) == 401


async def _no_members(group: str) -> list[str]:
    return []
