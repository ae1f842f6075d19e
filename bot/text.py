"""Plain-text helpers every medium shares (Slack, terminal, Markdown timelines): pure, no Slack SDK."""

from __future__ import annotations

import re
from datetime import UTC, datetime

# A Slack user or user-group mention as Slack writes it in text; the only owner names a ping can reach.
MENTION = re.compile(r"^<(?:@[UW][A-Z0-9]+|!subteam\^[A-Z0-9]+)(?:\|[^<>|]{0,100})?>$")


def one_line(text: str) -> str:
    """Every run of whitespace (newlines included) as one space."""
    return " ".join(text.split())


def is_mention(value: str) -> bool:
    """A Slack user or user-group mention (`<@U…>`, `<!subteam^S…>`), which Slack renders as a name."""
    return bool(MENTION.match(value.strip()))


def utc_minute(moment: datetime, *, clock_only: bool = False) -> str:
    """A moment as plain UTC text to the minute ("2026-12-01 09:05 UTC", or "09:05 UTC"): where a Slack date
    token cannot go (terminal, Markdown, a checklist step read back later)."""
    return moment.astimezone(UTC).strftime("%H:%M UTC" if clock_only else "%Y-%m-%d %H:%M UTC")
