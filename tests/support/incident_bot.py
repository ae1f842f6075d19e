"""A served jobbot taking Azure Monitor alerts over real HTTP, with the alert channel set (where environment-wide
incidents go) and a fake Slack to read the threads back. Shared by the incident end-to-end tests: each module
says how it delivers its alerts (`deliver`) and what it expects."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bot.config import parse_config
from bot.server import create_app
from bot.settings import Settings
from tests.support.served import Served, serving
from tests.support.slack_fake import FakeSlack


class IncidentBot:
    def __init__(self, app: Served, slack: FakeSlack, channels: dict[str, str], token: str) -> None:
        self.app, self.slack, self.channels, self.token = app, slack, channels, token
        self.http = httpx.Client(base_url=app.url, timeout=10, trust_env=False)

    def post_alert(self, body: Mapping[str, Any]) -> None:
        answer = self.http.post("/alerts/azure-monitor", headers={"X-Jobbot-Token": self.token}, json=body)
        assert answer.status_code == 202, answer.text

    def parents(self, channel: str) -> list[dict[str, Any]]:
        found = [m for (ch, ts), m in self.slack.messages.items() if ch == channel and m.get("thread_ts", ts) == ts]
        return sorted(found, key=lambda m: m["ts"])

    def replies(self, channel: str, parent: dict[str, Any]) -> list[dict[str, Any]]:
        return [m for (ch, ts), m in self.slack.messages.items()
                if ch == channel and m.get("thread_ts") == parent["ts"] and ts != parent["ts"]]


@contextmanager
def served_incidents(bot: type[IncidentBot], tmp: Path, scenario: Path, config: Mapping[str, Any],
                     channels: Mapping[str, str], *, token: str, alert_channel: str) -> Iterator[Any]:
    """`bot` (an IncidentBot subclass) around jobbot serving `scenario` with `config`, on SQLite in `tmp`."""
    with FakeSlack.in_thread() as slack:
        settings = Settings(slack_bot_token="xoxb-1111-2222-incidents", slack_signing_secret="9a8b7c6d5e4f3021120",
                            slack_api_url=slack.api_url, scenario=scenario,
                            database_url=f"sqlite:///{tmp / 'jobbot.db'}", alert_token=token,
                            alert_channel=alert_channel)
        with serving(create_app(settings, parse_config(dict(config)))) as app:
            yield bot(app, slack, dict(channels), token)
