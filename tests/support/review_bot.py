"""A served jobbot with a review world, driven as Slack drives it: signed slash commands and signed clicks over
real HTTP, answers read back from the fake Slack Web API. Shared by the review message's and its buttons' tests."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bot.config import parse_config
from bot.server import create_app
from bot.settings import Settings
from tests.support.db import audit_trail
from tests.support.served import Served, serving
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import block_actions_body, sign, slash_command_body

RISKY = Path(__file__).resolve().parents[2] / "scenarios" / "review-risky.yaml"


@dataclass(frozen=True)
class Posted:
    """A review message: its ts and its buttons by action id."""

    ts: str
    buttons: dict[str, dict[str, Any]]


def blocks_of(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    blocks = message["blocks"]
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


class ReviewBot:
    def __init__(self, app: Served, slack: FakeSlack, db: str, *, secret: str, channel: str, user: str) -> None:
        self.app, self.slack, self.db = app, slack, db
        self.secret, self.channel, self.user = secret, channel, user
        self.http = httpx.Client(base_url=app.url, timeout=10, trust_env=False)

    def post(self, body: bytes) -> httpx.Response:
        headers = {**sign(self.secret, body, int(time.time())), "Content-Type": "application/x-www-form-urlencoded"}
        return self.http.post("/slack/events", content=body, headers=headers)

    def command(self, text: str, token: str) -> httpx.Response:
        return self.post(slash_command_body(text, user_id=self.user, channel_id=self.channel, channel_name="reviews",
                                            response_url=self.slack.response_url(token)))

    def reviews(self) -> dict[str, dict[str, Any]]:
        """The review messages in the channel by ts (a thread's parent carries thread_ts once it has replies)."""
        return {ts: m for (channel, ts), m in self.slack.messages.items() if channel == self.channel
                and m.get("thread_ts", ts) == ts and str(m.get("text", "")).startswith("Review of")}

    def post_review(self, token: str = "review") -> Posted:
        """`/jobbot review payments-export 7d`, and the review message it posted."""
        before = set(self.reviews())
        assert self.command("review payments-export 7d", token=token).status_code == 200
        message = self.slack.wait_for_sync(lambda: next(
            (m for ts, m in self.reviews().items() if ts not in before), None), timeout=60)
        self.app.quiet()  # the command is done: its message's ts is in the store
        buttons = {e["action_id"]: e for b in blocks_of(message) if b["type"] == "actions" for e in b["elements"]}
        return Posted(message["ts"], buttons)

    def click(self, posted: Posted, action_id: str, user: str, *, token: str | None = None) -> None:
        body = block_actions_body(action_id, posted.buttons[action_id]["value"], user_id=user,
                                  channel_id=self.channel, message_ts=posted.ts,
                                  response_url=self.slack.response_url(token or f"click-{user}"))
        assert self.post(body).status_code == 200  # acked; the work runs after the ack
        self.app.quiet(timeout=180)  # an evidence pack is a whole review and more: slow on a loaded machine

    def message(self, posted: Posted) -> list[dict[str, Any]]:
        return blocks_of(self.slack.message(self.channel, posted.ts))

    def told(self, user: str, needle: str) -> dict[str, Any]:
        found: dict[str, Any] = self.slack.wait_for_sync(lambda: next(
            (e for e in self.slack.ephemerals if e["user"] == user and needle in e["text"]), None))
        return found

    def audit(self, posted: Posted, action: str) -> list[Any]:
        """The audit entries for `action` about this review message (its id is the Approve button's value)."""
        review_id = posted.buttons["jobbot.review.approve"]["value"]
        return [e for e in audit_trail(self.db) if e.action == action and review_id in e.detail]


@contextmanager
def review_bot(tmp: Path, config: Mapping[str, Any], *, secret: str, token: str, channel: str, user: str,
               **slack: Any) -> Iterator[ReviewBot]:
    """jobbot serving `scenarios/review-risky.yaml` on a SQLite file in `tmp`; `slack` goes to the fake Slack
    (its `scopes`, `usergroups`)."""
    db = f"sqlite:///{tmp / 'jobbot.db'}"
    with FakeSlack.in_thread(**slack) as fake:
        settings = Settings(slack_bot_token=token, slack_signing_secret=secret, slack_api_url=fake.api_url,
                            scenario=RISKY, database_url=db)
        with serving(create_app(settings, parse_config(dict(config)))) as app:
            yield ReviewBot(app, fake, db, secret=secret, channel=channel, user=user)
