"""Signed requests as Slack sends them: slash commands and block_actions (button clicks).

Sign and send the exact bytes these functions return; re-encoding the body breaks the signature.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import aiohttp

__all__ = [
    "DEFAULT_RESPONSE_URL",
    "FORM",
    "block_actions_body",
    "block_actions_payload",
    "post_signed",
    "sign",
    "signature",
    "slash_command_body",
]

FORM = "application/x-www-form-urlencoded"

#: Nothing listens on port 9 of localhost: a bot that posts here without a test giving a real URL fails fast
#: instead of reaching the internet. Tests pass ``FakeSlack.response_url(...)``.
DEFAULT_RESPONSE_URL = "http://127.0.0.1:9/response/unset"

_counter = itertools.count(1)


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """``"v0=" + hex(HMAC_SHA256(secret, "v0:{timestamp}:{body}"))``."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The two signature headers for ``body``; ``timestamp`` defaults to now (Bolt rejects older than 300 s)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": signature(secret, body, ts)}


def _trigger_id() -> str:
    n = next(_counter)
    return f"{int(time.time())}.{n:04d}.{hashlib.sha1(str(n).encode()).hexdigest()[:32]}"


def slash_command_body(
    text: str,
    *,
    command: str = "/jobbot",
    user_id: str = "U0ONCALL",
    user_name: str = "oncall",
    channel_id: str = "C0INC",
    channel_name: str = "incident",
    team_id: str = "T0TEAM",
    team_domain: str = "example",
    api_app_id: str = "A0JOBBOT",
    token: str = "verificationtoken",
    response_url: str = DEFAULT_RESPONSE_URL,
    trigger_id: str | None = None,
    enterprise_id: str | None = None,
    enterprise_name: str | None = None,
) -> bytes:
    """The form-encoded body of a slash command, with every field and in the order Slack sends them."""
    fields: list[tuple[str, str]] = [
        ("token", token),
        ("team_id", team_id),
        ("team_domain", team_domain),
    ]
    if enterprise_id is not None:
        fields += [("enterprise_id", enterprise_id), ("enterprise_name", enterprise_name or "")]
    fields += [
        ("channel_id", channel_id),
        ("channel_name", channel_name),
        ("user_id", user_id),
        ("user_name", user_name),
        ("command", command),
        ("text", text),
        ("api_app_id", api_app_id),
        ("is_enterprise_install", "false"),
        ("response_url", response_url),
        ("trigger_id", trigger_id or _trigger_id()),
    ]
    return urlencode(fields).encode()


def block_actions_payload(
    action_id: str,
    value: str,
    *,
    user_id: str = "U0ONCALL",
    user_name: str = "oncall",
    channel_id: str = "C0INC",
    channel_name: str = "incident",
    message_ts: str,
    block_id: str = "b",
    response_url: str = DEFAULT_RESPONSE_URL,
    message_blocks: Sequence[Mapping[str, Any]] | None = None,
    message_text: str = "",
    button_text: str | None = None,
    team_id: str = "T0TEAM",
    team_domain: str = "example",
    api_app_id: str = "A0JOBBOT",
    token: str = "verificationtoken",
    trigger_id: str | None = None,
    bot_user_id: str = "U0JOBBOT",
    bot_id: str = "B0JOBBOT",
) -> dict[str, Any]:
    """The JSON payload of a ``block_actions`` click on a button in a channel message."""
    action_ts = f"{time.time():.6f}"
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": api_app_id,
        "token": token,
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id, "is_ephemeral": False},
        "trigger_id": trigger_id or _trigger_id(),
        "team": {"id": team_id, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name},
        "message": {
            "type": "message",
            "user": bot_user_id,
            "bot_id": bot_id,
            "ts": message_ts,
            "text": message_text,
            "blocks": [dict(b) for b in (message_blocks or [])],
            "team": team_id,
        },
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": button_text or action_id, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": action_ts,
            }
        ],
    }


def block_actions_body(
    action_id: str,
    value: str,
    *,
    user_id: str = "U0ONCALL",
    channel_id: str = "C0INC",
    message_ts: str,
    block_id: str = "b",
    response_url: str = DEFAULT_RESPONSE_URL,
    message_blocks: Sequence[Mapping[str, Any]] | None = None,
    **more: Any,
) -> bytes:
    """``payload=<url-encoded JSON>`` as Slack posts a button click; ``more`` goes to :func:`block_actions_payload`."""
    payload = block_actions_payload(
        action_id,
        value,
        user_id=user_id,
        channel_id=channel_id,
        message_ts=message_ts,
        block_id=block_id,
        response_url=response_url,
        message_blocks=message_blocks,
        **more,
    )
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()


async def post_signed(
    url: str,
    secret: str,
    body: bytes,
    *,
    timestamp: int | None = None,
    content_type: str = FORM,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10,  # noqa: ASYNC109 - a client timeout for the whole request, not a cancellation scope
) -> tuple[int, str, float]:
    """POST ``body`` signed with ``secret`` to ``url``; returns ``(status, text, elapsed_s)``.

    Proxies from the environment are ignored. ``elapsed_s`` runs from sending to the full response (the ack).
    """
    all_headers = {"Content-Type": content_type, **sign(secret, body, timestamp), **(headers or {})}
    async with aiohttp.ClientSession(trust_env=False, timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        started = time.monotonic()
        async with session.post(url, data=body, headers=all_headers) as response:
            text = await response.text()
            elapsed = time.monotonic() - started
            return response.status, text, elapsed
