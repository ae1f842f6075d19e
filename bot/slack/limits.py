"""Slack's Block Kit limits, a truncation that says so, and a check of finished block dicts.

`slack_sdk.models.blocks` checks most limits only in `.to_dict()`, and not the 50-block limit nor the
2000-character limit of a section field; plain dict blocks are never checked (docs/slack.md).
`check_blocks` covers the whole set on the dicts that are actually sent: the tests use it, and the
renderer runs it as the last guard before a message leaves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

__all__ = [
    "ACTIONS_ELEMENTS_MAX",
    "ACTION_ID_MAX",
    "BLOCKS_MAX",
    "BLOCK_ID_MAX",
    "BUTTON_TEXT_MAX",
    "BUTTON_VALUE_MAX",
    "CONTEXT_ELEMENTS_MAX",
    "HEADER_TEXT_MAX",
    "MESSAGE_TEXT_MAX",
    "SECTION_FIELDS_MAX",
    "SECTION_FIELD_MAX",
    "SECTION_TEXT_MAX",
    "TEXT_OBJECT_MAX",
    "TRUNCATED",
    "URL_MAX",
    "check_blocks",
    "truncate",
]

BLOCKS_MAX: Final = 50  # per message (a modal allows 100)
SECTION_TEXT_MAX: Final = 3000
SECTION_FIELDS_MAX: Final = 10
SECTION_FIELD_MAX: Final = 2000
HEADER_TEXT_MAX: Final = 150  # plain_text only
CONTEXT_ELEMENTS_MAX: Final = 10
ACTIONS_ELEMENTS_MAX: Final = 25
BUTTON_TEXT_MAX: Final = 75
BUTTON_VALUE_MAX: Final = 2000
URL_MAX: Final = 3000
ACTION_ID_MAX: Final = 255
BLOCK_ID_MAX: Final = 255
TEXT_OBJECT_MAX: Final = 3000  # any text object, e.g. a context element
MESSAGE_TEXT_MAX: Final = 40_000  # Slack truncates a message's `text` beyond about this

BUTTON_STYLES: Final = frozenset({"primary", "danger"})

#: The note `truncate` ends a long text with when a reader should know something was cut.
TRUNCATED: Final = "… (truncated)"


def truncate(text: str, limit: int, *, note: str = "…") -> str:
    """`text` if it fits in `limit` characters, else its start followed by `note` (the whole result fits).

    Cuts on purpose and says so: pass `note=TRUNCATED` where a reader must not take the text as whole.
    A limit too small for the note gets as much of the note as fits.
    """
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    if len(note) >= limit:
        return note[:limit]
    return text[: limit - len(note)].rstrip() + note


def check_blocks(blocks: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every Slack limit the block dicts break, as readable strings; empty when Slack would accept them.

    Covers what Slack rejects with `invalid_blocks` for the block types jobbot sends (header, section,
    context, actions with buttons, divider): counts, lengths, empty texts, duplicate `block_id`s, and
    duplicate `action_id`s within a block; plus the message-size guard (all text over `MESSAGE_TEXT_MAX`).
    """
    problems: list[str] = []
    if len(blocks) > BLOCKS_MAX:
        problems.append(f"message has {len(blocks)} blocks, limit {BLOCKS_MAX}")
    seen_block_ids: set[str] = set()
    total_text = 0
    for index, block in enumerate(blocks):
        kind = block.get("type")
        where = f"blocks[{index}] ({kind})"
        block_id = block.get("block_id")
        if block_id is not None:
            problems += _length(f"{where} block_id", block_id, BLOCK_ID_MAX)
            if block_id in seen_block_ids:
                problems.append(f"{where} block_id {block_id!r} is used twice")
            seen_block_ids.add(block_id)
        if kind == "header":
            problems += _text_object(f"{where} text", block.get("text"), HEADER_TEXT_MAX, plain_only=True)
            total_text += _len_text(block.get("text"))
        elif kind == "section":
            text, fields = block.get("text"), block.get("fields")
            if text is None and not fields:
                problems.append(f"{where} has neither text nor fields")
            if text is not None:
                problems += _text_object(f"{where} text", text, SECTION_TEXT_MAX)
                total_text += _len_text(text)
            if fields is not None:
                if len(fields) > SECTION_FIELDS_MAX:
                    problems.append(f"{where} has {len(fields)} fields, limit {SECTION_FIELDS_MAX}")
                for i, item in enumerate(fields):
                    problems += _text_object(f"{where} fields[{i}]", item, SECTION_FIELD_MAX)
                    total_text += _len_text(item)
            accessory = block.get("accessory")
            if isinstance(accessory, Mapping):
                problems += _element(f"{where} accessory", accessory)
        elif kind == "context":
            elements = block.get("elements") or []
            if not elements:
                problems.append(f"{where} has no elements")
            if len(elements) > CONTEXT_ELEMENTS_MAX:
                problems.append(f"{where} has {len(elements)} elements, limit {CONTEXT_ELEMENTS_MAX}")
            for i, item in enumerate(elements):
                if isinstance(item, Mapping) and item.get("type") in ("mrkdwn", "plain_text"):
                    problems += _text_object(f"{where} elements[{i}]", item, TEXT_OBJECT_MAX)
                    total_text += _len_text(item)
        elif kind == "actions":
            elements = block.get("elements") or []
            if not elements:
                problems.append(f"{where} has no elements")
            if len(elements) > ACTIONS_ELEMENTS_MAX:
                problems.append(f"{where} has {len(elements)} elements, limit {ACTIONS_ELEMENTS_MAX}")
            action_ids: set[str] = set()
            for i, item in enumerate(elements):
                problems += _element(f"{where} elements[{i}]", item)
                action_id = item.get("action_id")
                if action_id is not None:
                    if action_id in action_ids:
                        problems.append(f"{where} elements[{i}] action_id {action_id!r} is used twice in the block")
                    action_ids.add(action_id)
    if total_text > MESSAGE_TEXT_MAX:
        problems.append(f"message holds {total_text} characters of text, limit about {MESSAGE_TEXT_MAX}")
    return problems


def _len_text(obj: Any) -> int:
    return len(obj.get("text") or "") if isinstance(obj, Mapping) else 0


def _length(what: str, value: Any, limit: int) -> list[str]:
    if not isinstance(value, str):
        return [f"{what} is not a string"]
    if len(value) > limit:
        return [f"{what} is {len(value)} characters, limit {limit}"]
    return []


def _text_object(what: str, obj: Any, limit: int, *, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, Mapping):
        return [f"{what} is not a text object"]
    kind = obj.get("type")
    if kind not in ("plain_text", "mrkdwn") or (plain_only and kind != "plain_text"):
        return [f"{what} has type {kind!r}, expected {'plain_text' if plain_only else 'plain_text or mrkdwn'}"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"{what} is empty"]
    return _length(what, text, limit)


def _element(what: str, element: Mapping[str, Any]) -> list[str]:
    if element.get("type") != "button":
        return []  # jobbot sends buttons only; other elements are Slack's to judge
    problems = _text_object(f"{what} text", element.get("text"), BUTTON_TEXT_MAX, plain_only=True)
    if element.get("action_id") is not None:
        problems += _length(f"{what} action_id", element["action_id"], ACTION_ID_MAX)
    if element.get("value") is not None:
        problems += _length(f"{what} value", element["value"], BUTTON_VALUE_MAX)
    if element.get("url") is not None:
        problems += _length(f"{what} url", element["url"], URL_MAX)
    style = element.get("style")
    if style is not None and style not in BUTTON_STYLES:
        problems.append(f"{what} style {style!r} is not one of {sorted(BUTTON_STYLES)}")
    return problems
