"""Bad input, everywhere: random bytes, random JSON and valid-but-wrong shapes at every HTTP route and
every slash command of one running `jobbot serve`. For every request: no 5xx, no traceback in the answer,
and the process keeps serving; for requests that are refused, nothing is posted to Slack.

Tests that only send requests which must be refused get a bot of their own (`quiet`) that never receives a
request which starts work, so "nothing posted" is measured on a fake Slack no earlier test can still be
posting to, whatever order pytest-randomly picks; the ones that may start work (signed commands, valid
alerts) share another (`bot`).
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import parse_config
from bot.server import create_app
from bot.settings import Settings
from bot.slack.commands import Verb
from tests.fixtures.alerts.payloads import alert_id, job_id, metric_alert, storm_world
from tests.support.served import served
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import block_actions_payload, sign, slash_command_body

SECRET = "8f14e45fceea167a5a36dedd4bea2543"
ALERT_TOKEN = "alert-token-6c1f0e2b9a"
FORM = "application/x-www-form-urlencoded"
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)


# Any header value HTTP can carry (no control characters): printable ASCII and Latin-1 "obs-text".
# (HTTP trims spaces around a value, so the client refuses values that start or end with one.)
HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
                      max_size=70).map(lambda text: text.strip(" \t"))


class Bot:
    def __init__(self, url: str, slack: FakeSlack) -> None:
        self.slack = slack
        self.http = httpx.Client(base_url=url, timeout=30, trust_env=False)

    def sent(self) -> int:
        return len(self.slack.calls) + len(self.slack.responses)

    def check(self, response: httpx.Response) -> httpx.Response:
        assert response.status_code < 500, (response.status_code, response.text[:300])
        assert "Traceback" not in response.text and 'File "' not in response.text
        assert self.http.get("/healthz").status_code == 200, "the process keeps serving"
        return response

    def signed(self, body: bytes) -> httpx.Response:
        return self.check(self.http.post("/slack/events", content=body,
                                         headers={**sign(SECRET, body), "Content-Type": FORM}))

    def alert(self, body: bytes) -> httpx.Response:
        return self.check(self.http.post("/alerts/azure-monitor", params={"token": ALERT_TOKEN}, content=body,
                                         headers={"Content-Type": "application/json"}))


def _served_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    tmp = tmp_path_factory.mktemp("fuzz")
    world = storm_world(tmp, jobs=1, logs_for=1)
    with pytest.MonkeyPatch.context() as patch:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
            patch.delenv(name, raising=False)
        with FakeSlack.in_thread() as slack:
            settings_ = Settings(slack_bot_token="xoxb-1111-2222-jobbottesttoken", slack_signing_secret=SECRET,
                                 slack_api_url=slack.api_url, scenario=world.scenario,
                                 database_url=f"sqlite:///{tmp / 'j.db'}", alert_token=ALERT_TOKEN)
            with served(create_app(settings_, parse_config(world.config))) as url:
                yield Bot(url, slack)


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    """A bot that only ever receives requests it must refuse: nothing it was sent can post later."""
    yield from _served_bot(tmp_path_factory)


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    """A bot that receives valid commands and alerts too, so work may be in flight between tests."""
    yield from _served_bot(tmp_path_factory)


def settled_nothing_posted(bot: Bot, before: int) -> None:
    time.sleep(1.0)
    assert bot.sent() == before, [c.method for c in bot.slack.calls][-5:]


# --- refused requests: nothing may reach Slack ---------------------------------------------------------

@FUZZ
@given(body=st.binary(max_size=2000), stamp=HEADER_TEXT | st.integers().map(str),
       signature=HEADER_TEXT, path=st.sampled_from(["/slack/events", "/alerts/azure-monitor"]),
       content_type=st.sampled_from([FORM, "application/json", "text/plain", ""]))
def test_random_bytes_unsigned_or_without_token_are_refused(quiet: Bot, body: bytes, stamp: str, signature: str,
                                                            path: str, content_type: str) -> None:
    before = quiet.sent()
    headers = {"X-Slack-Request-Timestamp": stamp.encode("latin-1"), "X-Slack-Signature": signature.encode("latin-1"),
               "Content-Type": content_type}
    response = quiet.check(quiet.http.post(path, content=body, headers=headers))
    assert 400 <= response.status_code < 500
    assert quiet.sent() == before


@FUZZ
@given(body=st.binary(max_size=3000) | json_values.map(lambda v: json.dumps(v).encode()))
def test_random_bytes_and_json_at_the_alert_webhook_are_refused(quiet: Bot, body: bytes) -> None:
    before = quiet.sent()
    response = quiet.alert(body)
    assert 400 <= response.status_code < 500
    assert quiet.sent() == before


@FUZZ
@given(payload=json_values, as_text=st.booleans())
def test_random_signed_interactivity_payloads_post_nothing_when_refused(quiet: Bot, payload: Any,
                                                                       as_text: bool) -> None:
    before = quiet.sent()
    raw = json.dumps(payload) if not as_text else str(payload)
    response = quiet.signed(urlencode({"payload": raw}).encode())
    if response.status_code >= 400:
        assert quiet.sent() == before


def test_refused_requests_posted_nothing_afterwards_either(quiet: Bot) -> None:
    before = quiet.sent()
    quiet.alert(b"[" * 50_000)
    quiet.check(quiet.http.post("/slack/events", content=b"payload=%7B%7D"))
    settled_nothing_posted(quiet, before)


@FUZZ
@given(method=st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "POST"]),
       path=st.sampled_from(["/healthz", "/readyz", "/slack/events", "/alerts/azure-monitor", "/", "/metrics"])
       # (a leading "//" would make the client read the rest as a host name, not a path)
       | st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=40)
       .map(lambda p: "/" + p.lstrip("/")))
def test_every_method_on_every_path_answers_below_500(quiet: Bot, method: str, path: str) -> None:
    before = quiet.sent()
    quiet.check(quiet.http.request(method, path, content=b"{}" if method != "GET" else None))
    assert quiet.sent() == before


# --- valid but wrong shapes ----------------------------------------------------------------------------

def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


ALERT = metric_alert(alert_id("fuzz-base"), "fuzz-rule", job_id("orders-00"))
ALERT_PATHS = _paths(ALERT)


def _mutated(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(ALERT)
    target: Any = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body


@FUZZ
@given(path=st.sampled_from(ALERT_PATHS), value=json_values)
def test_an_alert_with_one_field_of_the_wrong_shape_is_refused_or_accepted_never_500(
        bot: Bot, path: tuple[Any, ...], value: Any) -> None:
    bot.alert(json.dumps(_mutated(path, value)).encode())  # accepted (202) or refused (4xx), never 5xx


@FUZZ
@given(action=st.sampled_from(["jobbot.alert.ack", "jobbot.checklist.done", "jobbot.checklist.skip",
                               "jobbot.checklist.undo", "jobbot.checklist.check", "jobbot.checklist.close",
                               "jobbot.checklist.start", "unknown.action"]),
       value=st.text(max_size=80), channel=st.text(max_size=12), ts=st.text(max_size=20),
       user=st.text(max_size=12))
def test_clicks_with_random_values_never_get_a_500(bot: Bot, action: str, value: str, channel: str, ts: str,
                                                   user: str) -> None:
    payload = block_actions_payload(action, value, user_id=user, channel_id=channel, message_ts=ts)
    bot.signed(urlencode({"payload": json.dumps(payload)}).encode())


# --- every slash command -------------------------------------------------------------------------------

VERBS = [v.value for v in Verb]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(verb=st.sampled_from([*VERBS, ""]), rest=st.text(max_size=80),
       user=st.text(max_size=12), channel=st.text(max_size=12))
def test_every_slash_command_with_random_arguments_answers_200(bot: Bot, verb: str, rest: str, user: str,
                                                               channel: str) -> None:
    text = f"{verb} {rest}".replace("\x00", "")
    body = slash_command_body(text, user_id=user, channel_id=channel, response_url=bot.slack.response_url("fz"))
    response = bot.signed(body)
    assert response.status_code == 200 and response.text.strip()
