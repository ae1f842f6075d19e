"""The last guard before a message leaves: `check_blocks` names every Block Kit limit a message breaks, so
jobbot falls back to a smaller message instead of Slack answering `invalid_blocks` and the report being lost."""

from __future__ import annotations

from typing import Any

import pytest

from bot.slack.limits import check_blocks


def mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def button(**overrides: Any) -> dict[str, Any]:
    return {"type": "button", "text": plain("Acknowledge"), "action_id": "ack", "value": "v", **overrides}


def test_a_message_slack_accepts_has_no_problems() -> None:
    blocks = [
        {"type": "header", "text": plain("orders-processor: OOM")},
        {"type": "section", "text": mrkdwn("*Verdict*"), "fields": [mrkdwn("a"), mrkdwn("b")],
         "accessory": button(action_id="open", url="https://portal.azure.com/")},
        {"type": "context", "elements": [mrkdwn("checked 10:00 UTC"), {"type": "image", "image_url": "x",
                                                                       "alt_text": "x"}]},
        {"type": "actions", "elements": [button(), button(action_id="undo", style="danger"),
                                         {"type": "button", "text": plain("Portal"), "url": "https://portal.azure.com/"}]},
        {"type": "divider"},
    ]
    assert check_blocks(blocks) == []


@pytest.mark.parametrize(("block", "problem"), [
    ({"type": "section"}, "blocks[0] (section) has neither text nor fields"),
    ({"type": "section", "fields": [mrkdwn("f")] * 11}, "blocks[0] (section) has 11 fields, limit 10"),
    ({"type": "section", "fields": [mrkdwn("x" * 2001)]},
     "blocks[0] (section) fields[0] is 2001 characters, limit 2000"),
    ({"type": "section", "text": "not an object"}, "blocks[0] (section) text is not a text object"),
    ({"type": "section", "text": {"type": "markdown", "text": "x"}},
     "blocks[0] (section) text has type 'markdown', expected plain_text or mrkdwn"),
    ({"type": "section", "text": mrkdwn("")}, "blocks[0] (section) text is empty"),
    ({"type": "header", "text": mrkdwn("Header")},
     "blocks[0] (header) text has type 'mrkdwn', expected plain_text"),
    ({"type": "context", "elements": []}, "blocks[0] (context) has no elements"),
    ({"type": "context", "elements": [mrkdwn("c")] * 11}, "blocks[0] (context) has 11 elements, limit 10"),
    ({"type": "actions"}, "blocks[0] (actions) has no elements"),
    ({"type": "actions", "elements": [button(action_id=f"a{i}") for i in range(26)]},
     "blocks[0] (actions) has 26 elements, limit 25"),
    ({"type": "actions", "elements": [button(), button()]},
     "blocks[0] (actions) elements[1] action_id 'ack' is used twice in the block"),
    ({"type": "actions", "elements": [button(text=plain("x" * 76))]},
     "blocks[0] (actions) elements[0] text is 76 characters, limit 75"),
    ({"type": "actions", "elements": [button(action_id=7)]},
     "blocks[0] (actions) elements[0] action_id is not a string"),
    ({"type": "actions", "elements": [button(value="v" * 2001)]},
     "blocks[0] (actions) elements[0] value is 2001 characters, limit 2000"),
    ({"type": "actions", "elements": [button(url="https://x/" + "a" * 3000)]},
     "blocks[0] (actions) elements[0] url is 3010 characters, limit 3000"),
    ({"type": "actions", "elements": [button(style="warning")]},
     "blocks[0] (actions) elements[0] style 'warning' is not one of ['danger', 'primary']"),
    ({"type": "divider", "block_id": "b" * 256}, "blocks[0] (divider) block_id is 256 characters, limit 255"),
])
def test_each_broken_limit_is_named_with_where_it_is(block: dict[str, Any], problem: str) -> None:
    assert problem in check_blocks([block])


def test_a_block_id_used_twice_and_too_many_blocks_are_named() -> None:
    problems = check_blocks([{"type": "divider", "block_id": "same"}] * 51)
    assert "message has 51 blocks, limit 50" in problems
    assert "blocks[1] (divider) block_id 'same' is used twice" in problems


def test_a_message_over_the_total_text_size_is_named_though_every_block_fits() -> None:
    blocks = [{"type": "section", "text": mrkdwn("x" * 2900), "fields": [mrkdwn("y" * 1000)]} for _ in range(11)]
    blocks.append({"type": "context", "elements": [mrkdwn("z" * 100)]})
    assert check_blocks(blocks) == ["message holds 43000 characters of text, limit about 40000"]


def test_elements_other_than_buttons_are_left_to_slack() -> None:
    select = {"type": "static_select", "action_id": "x" * 300, "options": []}
    assert check_blocks([{"type": "actions", "elements": [select]}]) == []
