"""Attack: malformed input at every door — JSON nested a hundred thousand deep at the alert webhook, a
non-numeric X-Slack-Request-Timestamp, bytes that are not UTF-8, and signed interactivity payloads that are
not the JSON shape Slack sends. Each must get a 4xx with a short reason, never a 500, and run nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bot.config import parse_config
from bot.server import create_app
from bot.settings import Settings
from tests.support.served import served
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import sign, slash_command_body

ROOT = Path(__file__).resolve().parents[2]
SECRET = "8f14e45fceea167a5a36dedd4bea2543"
ALERT_TOKEN = "alert-token-6c1f0e2b9a"
FORM = "application/x-www-form-urlencoded"


class Door:
    def __init__(self, url: str, slack: FakeSlack) -> None:
        self.slack = slack
        self.http = httpx.Client(base_url=url, timeout=20, trust_env=False)

    def slack_post(self, body: bytes, headers: dict[str, Any] | None = None) -> httpx.Response:
        return self.http.post("/slack/events", content=body,
                              headers=headers if headers is not None else {**sign(SECRET, body), "Content-Type": FORM})

    def alert(self, body: bytes) -> httpx.Response:
        return self.http.post("/alerts/azure-monitor", params={"token": ALERT_TOKEN}, content=body,
                              headers={"Content-Type": "application/json"})


@pytest.fixture(scope="module")
def door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Door]:
    tmp = tmp_path_factory.mktemp("malformed")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
            patch.delenv(name, raising=False)
        with FakeSlack.in_thread() as slack:
            settings = Settings(slack_bot_token="xoxb-1111-2222-jobbottesttoken", slack_signing_secret=SECRET,
                                slack_api_url=slack.api_url, scenario=ROOT / "scenarios" / "healthy.yaml",
                                database_url=f"sqlite:///{tmp / 'j.db'}", alert_token=ALERT_TOKEN)
            with served(create_app(settings, parse_config({}))) as url:
                yield Door(url, slack)


def refused(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:200])
    assert "Traceback" not in response.text


@pytest.mark.parametrize("depth", [100_000, 5_000, 900, 40])
def test_deeply_nested_json_at_the_alert_webhook_gets_400(door: Door, depth: int) -> None:
    refused(door.alert(b"[" * depth + b"]" * depth))
    refused(door.alert(b'{"a":' * depth + b"1" + b"}" * depth))


def test_a_non_numeric_slack_timestamp_gets_400(door: Door) -> None:
    body = slash_command_body("help")
    for stamp in ("abc", "", "1e9", "-5", "99999999999999999999999999x", "\u00b2"):
        headers = {"X-Slack-Request-Timestamp": stamp.encode(), "X-Slack-Signature": b"v0=00",
                   "Content-Type": FORM.encode()}
        refused(door.slack_post(body, headers))


def test_bytes_that_are_not_utf8_get_400(door: Door) -> None:
    refused(door.slack_post(b"\xff\xfe\xfd payload=\x80"))


@pytest.mark.parametrize("payload", [
    "not json", "[1, 2]", '"a string"', "null", "12", '{"type": "block_actions", "actions": "x"}',
    '{"type": "block_actions", "actions": [1]}', '{"type": "block_actions", "actions": [{}], "user": "U0X"}',
    '{"type": "view_submission", "view": 5}', '{"type": "block_actions", "actions": [{"action_id": '
    '"jobbot.alert.ack", "value": {"x": 1}}], "channel": [], "container": 3, "user": {"id": 7}}',
])
def test_a_signed_payload_of_the_wrong_shape_gets_4xx_and_posts_nothing(door: Door, payload: str) -> None:
    before = len(door.slack.calls)
    refused(door.slack_post(urlencode({"payload": payload}).encode()))
    time.sleep(0.3)
    assert [c.method for c in door.slack.calls[before:] if c.method != "chat.postEphemeral"] == []


def test_the_bot_still_serves_after_all_that(door: Door) -> None:
    assert door.http.get("/healthz").status_code == 200
    body = slash_command_body("help", response_url=door.slack.response_url("after"))
    response = door.slack_post(body)
    assert response.status_code == 200 and "triage" in response.text
    ready = json.loads(door.http.get("/readyz").text)
    assert ready["status"] == "ready" and ready["alerts_parked"] == 0
