"""Who clicked which button where, read from a block_actions payload (`parse_click`).

Slack puts the clicked message in `container` (`channel_id`, `message_ts`) and again in `channel.id` /
`message.ts`. Both must agree: a payload whose two copies disagree was not built by Slack from one
message, and is treated as coming from nowhere (empty strings never match a stored message).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Click:
    """One button press: the action and its value, who pressed it, and the message it was on."""

    action_id: str
    value: str
    user: str
    channel: str  # "" when the payload's two copies of the channel disagree (see `click_origin`)
    message_ts: str
    trigger_id: str | None = None  # for a modal, valid for 3 s


def parse_click(body: dict[str, Any], action: dict[str, Any] | None = None) -> Click:
    """The click in a block_actions `body`; `action` is the one Bolt matched (else the first)."""
    if action is None:
        actions = body.get("actions")
        action = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
    channel, message_ts = click_origin(body)
    trigger = body.get("trigger_id")
    return Click(action_id=str(action.get("action_id") or ""), value=str(action.get("value") or ""),
                 user=str(_mapping(body.get("user")).get("id") or ""), channel=channel, message_ts=message_ts,
                 trigger_id=str(trigger) if trigger else None)


def click_origin(body: dict[str, Any]) -> tuple[str, str]:
    """(channel id, message ts) of the message whose button was clicked; ("", "") when they disagree."""
    container, channel_obj, message = (_mapping(body.get(k)) for k in ("container", "channel", "message"))
    channels = {str(v) for v in (container.get("channel_id"), channel_obj.get("id")) if v}
    stamps = {str(v) for v in (container.get("message_ts"), message.get("ts")) if v}
    if len(channels) != 1 or len(stamps) > 1:
        return "", ""
    return channels.pop(), stamps.pop() if stamps else ""


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def from_message(origin: tuple[str, str], channel: str | None, ts: str | None) -> bool:
    """Whether a click's origin is the stored message. While the message is being posted its ts is not
    stored yet (a click can land in that moment): then the channel alone must match."""
    if not channel or origin[0] != channel:
        return False
    return ts is None or origin[1] == ts
