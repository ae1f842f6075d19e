"""Fitting the message into Slack's limits: parts dropped by priority, lines packed into sections.

A message is a list of named parts; when the blocks or their text would exceed what Slack takes, the
least important parts go first and the context block names them. Within a part, `pack` fills
sections with whole lines and counts the lines left out ("… 8 more executions not shown").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.slack.limits import BLOCKS_MAX, MESSAGE_TEXT_MAX, SECTION_TEXT_MAX, TEXT_OBJECT_MAX
from bot.slack.mrkdwn import cut_line

_MESSAGE_BUDGET = MESSAGE_TEXT_MAX - 4000  # all block text together, with room for the fallback text
KEEP = 0  # priority of parts that are never dropped


@dataclass(slots=True)
class Part:
    name: str
    priority: int  # 0 = keep always; higher numbers go first when space is short
    blocks: list[dict[str, Any]]


def assemble(parts: list[Part], *, context: Callable[[list[str]], dict[str, Any]],
             after: str | Sequence[str] | None) -> list[dict[str, Any]]:
    """Drop the least important parts until the blocks (plus the context block) fit; place the context
    block after the part named `after` (or the last kept of several names; at the end when None), naming
    what was dropped."""
    kept = [p for p in parts if p.blocks]
    dropped: list[str] = []

    def size() -> tuple[int, int]:
        blocks = [b for p in kept for b in p.blocks]
        return len(blocks) + 1, sum(_text_len(b) for b in blocks) + TEXT_OBJECT_MAX

    while size()[0] > BLOCKS_MAX or size()[1] > _MESSAGE_BUDGET:
        candidates = [p for p in kept if p.priority != KEEP]
        if not candidates:
            break
        victim = max(reversed(candidates), key=lambda p: p.priority)  # lowest priority, last placed first
        kept.remove(victim)
        dropped.append(victim.name)
    note = [f"not shown, the message would be too long: {', '.join(dropped)}"] if dropped else []
    names = (after,) if isinstance(after, str) else tuple(after or ())
    anchor = next((p.name for p in reversed(kept) if p.name in names), None)
    out: list[dict[str, Any]] = []
    for part in kept:
        out += part.blocks
        if part.name == anchor:
            out.append(context(note))
    if anchor is None:
        out.append(context(note))
    return out


def _text_len(block: Mapping[str, Any]) -> int:
    obj = block.get("text")
    total = len(obj.get("text") or "") if isinstance(obj, Mapping) else 0
    for key in ("fields", "elements"):
        for obj in block.get(key) or []:
            if isinstance(obj, Mapping) and isinstance(obj.get("text"), str):
                total += len(obj["text"])
    return total


def pack(lines: Sequence[str], *, heading: str | None, max_sections: int, more: str, hidden: int = 0,
         tail: str = "", limit: int = SECTION_TEXT_MAX) -> list[str]:
    """Whole lines into at most `max_sections` texts of at most `limit` characters each. Lines that do not
    fit (plus `hidden` ones already left out by the caller) are counted in a closing note
    "… N more <more> not shown". Each line must fit in a section with the note (callers cap them)."""
    note_room = len(_more_note(10**9, more, tail)) + 1
    texts: list[list[str]] = [[heading]] if heading else [[]]
    shown = 0
    for line in lines:
        if len(line) > limit - note_room:  # callers cap their lines; this is the last resort
            line = cut_line(line, limit - note_room)
        current = texts[-1]
        if _joined_len(current) + 1 + len(line) <= limit - note_room:
            current.append(line)
            shown += 1
        elif len(texts) < max_sections:
            texts.append([line])
            shown += 1
        else:
            break
    left = len(lines) - shown + max(0, hidden)
    if left:
        texts[-1].append(_more_note(left, more, tail))
    return ["\n".join(t) for t in texts if any(t)]


def _joined_len(lines: list[str]) -> int:
    return sum(len(line) for line in lines) + max(0, len(lines) - 1)


def _more_note(count: int, what: str, tail: str = "") -> str:
    return f"_… {count} more {what} not shown{tail}_"
