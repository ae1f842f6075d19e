"""Plain-text helpers every medium shares (Slack, terminal, Markdown timelines): pure, no Slack SDK."""

from __future__ import annotations

import re

# A Slack user or user-group mention as Slack writes it in text; the only owner names a ping can reach.
MENTION = re.compile(r"^<(?:@[UW][A-Z0-9]+|!subteam\^[A-Z0-9]+)(?:\|[^<>|]{0,100})?>$")


def one_line(text: str) -> str:
    """Every run of whitespace (newlines included) as one space."""
    return " ".join(text.split())


def is_mention(value: str) -> bool:
    """A Slack user or user-group mention (`<@U…>`, `<!subteam^S…>`), which Slack renders as a name."""
    return bool(MENTION.match(value.strip()))
