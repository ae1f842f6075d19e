"""Where a button click came from, read from a block_actions payload.

Slack puts the clicked message in `container` (`channel_id`, `message_ts`) and again in `channel.id` /
`message.ts`. Both must agree: a payload whose two copies disagree was not built by Slack from one
message, and is treated as coming from nowhere (empty strings never match a stored message).
"""

from __future__ import annotations

from typing import Any


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
