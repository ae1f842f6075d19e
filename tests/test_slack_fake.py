"""The fake Slack behaves like Slack for the real SDKs, and the signed requests are what Bolt accepts."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.request.internals import parse_body
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.support.slack_fake import RESPONSE_URL, FakeSlack
from tests.support.slack_requests import block_actions_body, post_signed, sign, slash_command_body

SECRET = "s3cr3t-signing"
TOKEN = "xoxb-test"
BLOCKS: list[dict[str, Any]] = [
    {"type": "section", "block_id": "verdict", "text": {"type": "mrkdwn", "text": "*orders-processor*: failing"}},
    {
        "type": "actions",
        "block_id": "b",
        "elements": [
            {"type": "button", "action_id": "ack", "value": "orders", "text": {"type": "plain_text", "text": "Ack"}}
        ],
    },
]


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(usergroups={"S0ONCALL": ["U0ONCALL", "U0SECOND"]}) as fake:
        yield fake


async def test_post_and_update_with_blocks(slack: FakeSlack) -> None:
    assert slack.api_url.startswith("http://127.0.0.1:") and slack.api_url.endswith("/api/")
    client = AsyncWebClient(token=TOKEN, base_url=slack.api_url)

    posted = await client.chat_postMessage(channel="C0INC", text="orders-processor: failing", blocks=BLOCKS)
    assert posted["ok"] and posted["channel"] == "C0INC"
    ts = posted["ts"]
    assert posted["message"]["blocks"] == BLOCKS

    second = await client.chat_postMessage(channel="C0INC", text="second")
    assert float(second["ts"]) > float(ts)

    updated = await client.chat_update(channel="C0INC", ts=ts, text="orders-processor: acked", blocks=BLOCKS[:1])
    assert updated["ts"] == ts

    message = slack.messages[("C0INC", ts)]
    assert message["text"] == "orders-processor: acked"
    assert message["blocks"] == BLOCKS[:1]
    assert [m["text"] for m in slack.history("C0INC", ts)] == ["orders-processor: failing", "orders-processor: acked"]
    assert [m["ts"] for m in slack.channel_messages("C0INC")] == [ts, second["ts"]]

    post = slack.calls_to("chat.postMessage")[0]
    assert post.content_type == "application/json" and post.token == TOKEN
    assert post.args["blocks"] == BLOCKS and post.args["channel"] == "C0INC"
    assert [c.method for c in slack.calls] == ["chat.postMessage", "chat.postMessage", "chat.update"]

    with pytest.raises(SlackApiError) as missing:
        await client.chat_update(channel="C0INC", ts="1.000000", text="nope")
    assert missing.value.response["error"] == "message_not_found"


async def test_one_429_is_retried_after_retry_after_and_lands_once(slack: FakeSlack) -> None:
    client = AsyncWebClient(
        token=TOKEN,
        base_url=slack.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    slack.fail_next("chat.postMessage", status=429, retry_after=1)

    started = time.monotonic()
    response = await client.chat_postMessage(channel="C0INC", text="alert", blocks=BLOCKS)
    waited = time.monotonic() - started

    assert response["ok"]
    calls = slack.calls_to("chat.postMessage")
    assert [(c.status, c.error) for c in calls] == [(429, "ratelimited"), (200, None)]
    assert len(slack.channel_messages("C0INC")) == 1
    assert calls[1].at - calls[0].at >= 1.0
    assert 1.0 <= waited < 10  # Retry-After 1 plus the SDK's jitter of up to 1 s (loose: CI shares its cores)


async def test_without_retry_handler_the_429_surfaces_with_retry_after(slack: FakeSlack) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=slack.api_url, retry_handlers=[])
    slack.fail_next("chat.update", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel="C0INC", ts="1.0", text="x")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] in ("7", ["7"])
    assert err.value.response["error"] == "ratelimited"


async def test_5xx_and_delay_injection(slack: FakeSlack) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=slack.api_url, retry_handlers=[])
    slack.fail_next("auth.test", status=503, retry_after=None, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            await client.auth_test()
        assert err.value.response.status_code == 503
    assert (await client.auth_test())["user_id"] == "U0JOBBOT"
    assert [c.status for c in slack.calls_to("auth.test")] == [503, 503, 200]

    slack.delay("auth.test", 2.0, times=1)
    started = time.monotonic()
    await client.auth_test()
    assert time.monotonic() - started >= 2.0
    started = time.monotonic()
    await client.auth_test()
    assert time.monotonic() - started < 2.0  # the delay was spent


async def test_auth_unknown_methods_and_block_limits(slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as err:
        await AsyncWebClient(base_url=slack.api_url).auth_test()
    assert err.value.response["error"] == "not_authed"

    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        aiohttp.ClientSession(trust_env=False) as session,
        session.post(slack.api_url + "views.publish", headers=auth) as r,
    ):
        assert r.status == 200
        assert await r.json() == {"ok": False, "error": "unknown_method", "req_method": "views.publish"}

    client = AsyncWebClient(token=TOKEN, base_url=slack.api_url)
    too_many = [{"type": "section", "text": {"type": "mrkdwn", "text": str(i)}} for i in range(51)]
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C0INC", text="many", blocks=too_many)
    assert err.value.response["error"] == "invalid_blocks"
    assert err.value.response["errors"] == ["must be less than 51 items [json-pointer:/blocks]"]
    assert slack.messages == {}
    assert [(c.method, c.ok, c.error) for c in slack.calls][-1] == ("chat.postMessage", False, "invalid_blocks")


async def test_webhook_client_lands_in_responses(slack: FakeSlack) -> None:
    webhook = AsyncWebhookClient(slack.response_url("t1"))
    sent = await webhook.send(text="working on it", response_type="in_channel")
    assert sent.status_code == 200
    [response] = slack.responses
    assert response["token"] == "t1"
    assert response["response_type"] == "in_channel" and response["replace_original"] is None
    assert response["body"]["text"] == "working on it"

    slack.fail_next(RESPONSE_URL, status=500)
    assert (await webhook.send(text="again")).status_code == 500


async def test_response_url_replaces_the_bound_message_and_allows_five_uses(slack: FakeSlack) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=slack.api_url)
    ts = (await client.chat_postMessage(channel="C0INC", text="card", blocks=BLOCKS))["ts"]
    webhook = AsyncWebhookClient(slack.response_url("click", channel="C0INC", ts=ts))
    statuses = [(await webhook.send(text=f"v{i}", replace_original=True)).status_code for i in range(6)]
    assert statuses == [200] * 5 + [404]
    assert slack.messages[("C0INC", ts)]["text"] == "v4"
    assert "blocks" not in slack.messages[("C0INC", ts)]
    assert slack.responses[-1]["status"] == 404


def test_signature_verifies_with_the_sdk() -> None:
    body = slash_command_body("triage orders-processor 2h")
    headers = sign(SECRET, body, timestamp=int(time.time()))
    ts, sig = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    verifier = SignatureVerifier(SECRET)
    assert sig.startswith("v0=")
    assert verifier.is_valid(body, ts, sig)
    assert not verifier.is_valid(body + b"x", ts, sig)
    assert not SignatureVerifier("other").is_valid(body, ts, sig)
    old = sign(SECRET, body, timestamp=int(time.time()) - 301)
    assert not verifier.is_valid(body, old["X-Slack-Request-Timestamp"], old["X-Slack-Signature"])


def test_bodies_parse_as_slack_sends_them() -> None:
    fields = {
        k: v[0] for k, v in parse_qs(slash_command_body("triage orders 2h").decode(), keep_blank_values=True).items()
    }
    assert fields["text"] == "triage orders 2h" and fields["command"] == "/jobbot"
    assert {
        "token",
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "api_app_id",
    } <= set(fields)
    assert fields["is_enterprise_install"] == "false" and fields["trigger_id"] and fields["response_url"]

    click = block_actions_body("ack", "orders", user_id="U0ONCALL", channel_id="C0INC", message_ts="1700000000.000100")
    payload = parse_body(click.decode(), "application/x-www-form-urlencoded")
    assert payload["type"] == "block_actions"
    assert payload["container"] == {
        "type": "message",
        "message_ts": "1700000000.000100",
        "channel_id": "C0INC",
        "is_ephemeral": False,
    }
    [action] = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "ack",
        "b",
        "orders",
        "button",
    )

    # The Bolt 1.30 bug the bot has to work around is reproduced by an honest body:
    assert parse_body(slash_command_body("triage payload-worker").decode(), None) == {}


async def test_bolt_accepts_signed_requests_over_http(slack: FakeSlack) -> None:
    app = AsyncApp(client=AsyncWebClient(token=TOKEN, base_url=slack.api_url), signing_secret=SECRET)

    @app.command("/jobbot")
    async def command(ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any]) -> None:
        await ack()
        await respond(text=f"triaging {command['text']}", response_type="in_channel")

    @app.action("ack")
    async def clicked(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.chat_update(
            channel=body["channel"]["id"], ts=body["container"]["message_ts"], text=f"acked by {body['user']['id']}"
        )

    runner = web.AppRunner(app.web_app(path="/slack/events"), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    try:
        body = slash_command_body("triage orders-processor", response_url=slack.response_url("cmd"))
        status, _, _ = await post_signed(url, SECRET, body)
        assert status == 200
        [response] = await slack.wait_for(lambda: slack.responses_to("cmd"))
        assert response["text"] == "triaging triage orders-processor"

        assert (await post_signed(url, "wrong", body))[0] == 401
        assert (await post_signed(url, SECRET, body, timestamp=int(time.time()) - 600))[0] == 401

        ts = (await app.client.chat_postMessage(channel="C0INC", text="card", blocks=BLOCKS))["ts"]
        click = block_actions_body(
            "ack", "orders", user_id="U0ONCALL", channel_id="C0INC", message_ts=ts, message_blocks=BLOCKS
        )
        status, _, _ = await post_signed(url, SECRET, click)
        assert status == 200
        await slack.wait_for(lambda: slack.messages[("C0INC", ts)]["text"] == "acked by U0ONCALL")
        assert slack.calls_to("auth.test")  # Bolt checked the token against the fake
    finally:
        await runner.cleanup()


def test_thread_mode_with_the_sync_client() -> None:
    with FakeSlack.in_thread(usergroups={"S0ONCALL": ["U0ONCALL"]}) as slack:
        client = WebClient(token=TOKEN, base_url=slack.api_url)
        parent = client.chat_postMessage(channel="C0INC", text="alert", blocks=BLOCKS)
        ts = parent["ts"]
        client.chat_postMessage(channel="C0INC", thread_ts=ts, text="evidence 1")
        client.chat_postMessage(channel="C0INC", thread_ts=ts, text="evidence 2")
        assert [m["text"] for m in slack.thread("C0INC", ts)] == ["evidence 1", "evidence 2"]
        assert slack.messages[("C0INC", ts)]["reply_count"] == 2

        # form-encoded, with blocks as a JSON string, as older code and the sync client's `data=` send them
        form = client.api_call(
            "chat.postMessage", data={"channel": "C0INC", "text": "form", "blocks": json.dumps(BLOCKS)}
        )
        call = slack.calls_to("chat.postMessage")[-1]
        assert call.content_type == "application/x-www-form-urlencoded" and call.args["blocks"] == BLOCKS
        assert slack.messages[("C0INC", form["ts"])]["blocks"] == BLOCKS

        assert client.conversations_info(channel="C0INC")["channel"]["name"] == "incident"
        assert client.users_info(user="U0ONCALL")["user"]["name"] == "oncall"
        assert client.usergroups_users_list(usergroup="S0ONCALL")["users"] == ["U0ONCALL"]
        slack.set_usergroup("S0ONCALL", ["U0ONCALL", "U0NEW"])
        assert client.usergroups_users_list(usergroup="S0ONCALL")["users"] == ["U0ONCALL", "U0NEW"]
        client.reactions_add(channel="C0INC", timestamp=ts, name="eyes")
        assert slack.messages[("C0INC", ts)]["reactions"][0]["name"] == "eyes"
        link = client.chat_getPermalink(channel="C0INC", message_ts=ts)["permalink"]
        assert link.endswith("/archives/C0INC/p" + ts.replace(".", ""))
        eph = client.chat_postEphemeral(channel="C0INC", user="U0ONCALL", text="only you")
        assert slack.ephemerals[0]["message_ts"] == eph["message_ts"]
        for method, kwargs, error in [
            ("usergroups.users.list", {"usergroup": "S0NOPE"}, "no_such_subteam"),
            ("users.info", {"user": "bogus"}, "user_not_found"),
            ("conversations.info", {"channel": "bogus"}, "channel_not_found"),
        ]:
            with pytest.raises(SlackApiError) as err:
                client.api_call(method, http_verb="GET", params=kwargs)
            assert err.value.response["error"] == error

        slack.delay("chat.update", 0.1, times=1)
        client.chat_update(channel="C0INC", ts=ts, text="resolved")
        assert slack.wait_for_sync(lambda: slack.messages[("C0INC", ts)]["text"] == "resolved", timeout=2)
