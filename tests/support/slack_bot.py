"""Drive a served `jobbot serve` app the way Slack does (signed slash commands and clicks over real HTTP) and
read what a user would see from the fake Slack: the ack, the response_url answers, the channel messages."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import FORM, block_actions_body, sign, slash_command_body


class SlackBot:
    """A user in Slack talking to the bot at `url`; `slack` is the fake Slack Web API the bot posts to."""

    def __init__(self, url: str, slack: FakeSlack, secret: str, *, channel: str = "C0INC",
                 channel_name: str = "incident") -> None:
        self.url, self.slack, self.secret = url, slack, secret
        self.channel, self.channel_name = channel, channel_name
        self.http = httpx.Client(base_url=url, timeout=20, trust_env=False)

    def post(self, body: bytes, *, secret: str | None = None, age_s: int = 0) -> httpx.Response:
        headers = {**sign(secret or self.secret, body, int(time.time()) - age_s), "Content-Type": FORM}
        return self.http.post("/slack/events", content=body, headers=headers)

    def command(self, text: str, *, user: str = "U0ONCALL", token: str = "t1", channel: str | None = None,
                channel_name: str | None = None, secret: str | None = None, age_s: int = 0) -> httpx.Response:
        body = slash_command_body(text, user_id=user, channel_id=channel or self.channel,
                                  channel_name=channel_name or self.channel_name,
                                  response_url=self.slack.response_url(token))
        return self.post(body, secret=secret, age_s=age_s)

    def click(self, action_id: str, value: str, *, message_ts: str, user: str = "U0ONCALL",
              token: str | None = None, **more: Any) -> httpx.Response:
        body = block_actions_body(action_id, value, user_id=user, channel_id=self.channel, message_ts=message_ts,
                                  response_url=self.slack.response_url(token or f"click-{user}"), **more)
        return self.post(body)

    def wait(self, what: Callable[[], Any], timeout: float = 25) -> Any:
        return self.slack.wait_for_sync(what, timeout=timeout)

    def answer(self, token: str, timeout: float = 25) -> dict[str, Any]:
        """The last response_url answer to the command sent with `token`."""
        found: dict[str, Any] = self.wait(lambda: self.slack.responses_to(token) or None, timeout)[-1]
        return found

    def update_with(self, needle: str, timeout: float = 25) -> dict[str, Any]:
        """The arguments of the first successful `chat.update` whose blocks or text mention `needle`."""
        def found() -> dict[str, Any] | None:
            for call in self.slack.calls_to("chat.update"):
                if call.ok and needle in str(call.args.get("blocks")) + str(call.args.get("text")):
                    return call.args
            return None

        result: dict[str, Any] = self.wait(found, timeout)
        return result

    def post_with(self, needle: str, timeout: float = 25) -> dict[str, Any]:
        """The arguments of the first successful `chat.postMessage` whose text mentions `needle`."""
        def found() -> dict[str, Any] | None:
            return next((c.args for c in self.slack.ok_calls_to("chat.postMessage")
                         if needle in str(c.args.get("text"))), None)

        result: dict[str, Any] = self.wait(found, timeout)
        return result
