"""`jobbot serve` with SLACK_APP_TOKEN checks the token with Slack once at start: every way that check can go
wrong is a start-up error naming the variable and saying what happened, never a process that looks up and
receives nothing. Runs the real slack_sdk client against a stand-in for `apps.connections.open` on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from bot.errors import ConfigError
from bot.slack import socket_mode
from bot.slack.client import web_client
from bot.slack.socket_mode import check_app_token

TOKEN = "xapp-1-A0JOBBOT-1-checkedtoken"
BOT_TOKEN = "xoxb-1111-2222-jobbottesttoken"
Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Slack:
    """`apps.connections.open` answering as each test says; records the Authorization headers it saw."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.answer: Answer = lambda request: self._json({"ok": True, "url": "wss://127.0.0.1/link"})
        self.api_url = ""

    @staticmethod
    async def _json(body: dict[str, object]) -> web.StreamResponse:
        return web.json_response(body)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(request.headers.get("Authorization", ""))
        return await self.answer(request)


@pytest.fixture()
async def slack() -> AsyncIterator[Slack]:
    fake = Slack()
    app = web.Application()
    app.router.add_post("/api/apps.connections.open", fake.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.api_url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/"
    try:
        yield fake
    finally:
        await runner.cleanup()


async def problems(api_url: str, token: str = TOKEN) -> list[str]:
    with pytest.raises(ConfigError) as refused:
        await check_app_token(web_client(BOT_TOKEN, api_url), token)
    return refused.value.problems


async def test_a_token_slack_accepts_passes_and_is_the_one_sent(slack: Slack) -> None:
    await check_app_token(web_client(BOT_TOKEN, slack.api_url), TOKEN)
    assert slack.seen == [f"Bearer {TOKEN}"]


async def test_a_bot_token_in_place_of_the_app_token_is_named_without_asking_slack(slack: Slack) -> None:
    assert await problems(slack.api_url, "xoxb-a-bot-token") == [
        "SLACK_APP_TOKEN: not an app-level token (they start with xapp-)"]
    assert slack.seen == []


async def test_a_refusal_names_slacks_error_code(slack: Slack) -> None:
    slack.answer = lambda request: Slack._json({"ok": False, "error": "token_revoked"})
    assert await problems(slack.api_url) == ["SLACK_APP_TOKEN: Slack refused it for Socket Mode (token_revoked)"]


async def test_an_api_url_that_is_not_slack_is_reported_with_its_http_status(slack: Slack) -> None:
    # JOBBOT_SLACK_API_URL pointing at the wrong server: a 404 page, no Slack error code to quote.
    assert await problems(slack.api_url.replace("/api/", "/not-the-api/")) == [
        "SLACK_APP_TOKEN: Slack refused it for Socket Mode (HTTP 404)"]


async def test_slack_out_of_reach_says_it_could_not_check_rather_than_refused() -> None:
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    [problem] = await problems(f"http://127.0.0.1:{port}/api/")
    assert problem.startswith("SLACK_APP_TOKEN: could not reach Slack to check it (")
    assert "refused it" not in problem


async def test_slack_too_slow_to_answer_is_a_start_up_error_not_a_hang(slack: Slack,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(5)
        return await Slack._json({"ok": True})

    monkeypatch.setattr(socket_mode, "CHECK_TIMEOUT_S", 0.2)
    slack.answer = slow
    assert await problems(slack.api_url) == ["SLACK_APP_TOKEN: could not reach Slack to check it (TimeoutError)"]
