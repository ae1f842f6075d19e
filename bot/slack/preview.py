"""A terminal preview of a Block Kit message: what the channel would show, without Slack at hand."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]+)>")
_MENTION = re.compile(r"<!subteam\^([A-Z0-9]+)(?:\|[^>]*)?>|<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def _plain(text: str) -> str:
    text = _LINK.sub(lambda m: f"{m.group(2)} [{m.group(1)[:60]}…]" if len(m.group(1)) > 60
                     else f"{m.group(2)} [{m.group(1)}]", text)
    text = _DATE.sub(lambda m: m.group(1), text)
    text = _MENTION.sub(lambda m: f"@{m.group(1) or m.group(2)}", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def preview(blocks: Sequence[Mapping[str, Any]], width: int = 100) -> str:
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = _plain(block["text"]["text"])
            lines += ["", title, "=" * min(len(title), width)]
        elif kind == "section":
            if block.get("text"):
                for paragraph in _plain(block["text"]["text"]).splitlines():
                    lines += textwrap.wrap(paragraph, width) or [""]
            for item in block.get("fields") or []:
                lines += textwrap.wrap(_plain(item["text"]), width)
        elif kind == "context":
            lines.append("  " + " · ".join(_plain(e.get("text", "")) for e in block.get("elements", [])))
        elif kind == "divider":
            lines.append("-" * min(40, width))
        elif kind == "actions":
            lines.append("  " + "  ".join(f"[ {e['text']['text']} ]" for e in block.get("elements", [])))
    return "\n".join(lines).strip() + "\n"
