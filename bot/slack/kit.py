"""Block Kit building blocks shared by every message jobbot posts (triage, alert threads, checklists)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock


def block_dict(block: Block) -> dict[str, Any]:
    built: dict[str, Any] = block.to_dict()  # slack_sdk validates its limits here
    return built


def section(text: str, *, block_id: str | None = None) -> dict[str, Any]:
    """A mrkdwn section; `text` is already escaped. Slack refuses an empty text, so none is ever sent."""
    return block_dict(SectionBlock(block_id=block_id, text=MarkdownTextObject(text=text or " ", verbatim=True)))
