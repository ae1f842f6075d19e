"""The `review --diff` section of the review message: the diff's lines in code blocks, each within Slack's
text limit (one block for properties and who, one for the rules, one for the capacity comparison)."""

from __future__ import annotations

from typing import Any

from bot.review.diff import DiffReport, diff_text
from bot.slack.kit import section
from bot.slack.limits import TEXT_OBJECT_MAX, truncate
from bot.slack.mrkdwn import escape

_FENCE = "```"


def diff_blocks(diff: DiffReport, currency: str) -> list[dict[str, Any]]:
    lines = diff_text(diff, currency)
    parts: list[list[str]] = [[]]
    for line in lines:
        if line.startswith(("  rules", "  capacity")) and parts[-1]:
            parts.append([])  # a block of its own, so a long property list cannot push it out
        parts[-1].append(line)
    room = TEXT_OBJECT_MAX - 2 * len(_FENCE)
    return [section(_FENCE + truncate(escape("\n".join(p)), room) + _FENCE) for p in parts if p]
