"""Slack mrkdwn text: escaping, and cutting to a length without breaking the markup.

Text from the job, the workload, Azure or people goes through `escape` (or `fit`, which escapes),
so it can neither mention anyone nor forge a link; `mention` passes real user and user-group
mentions through. Cuts happen before escaping or outside `<…>` tokens, entities and code spans, so
a cut text is still valid mrkdwn. Moments become Slack date tokens, shown in the reader's time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bot.text import is_mention as is_mention
from bot.text import one_line as one_line

# User mentions (<@U…>, <@W…>) and user-group mentions (<!subteam^S…>), optionally with a label.


def escape(text: str) -> str:
    """Escape text for Slack mrkdwn (and for a message's `text`): `&`, `<` and `>` only, as Slack asks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(raw: str, limit: int, *, note: str = "…") -> str:
    """`raw` escaped for mrkdwn in at most `limit` characters, cut before escaping (never inside `&amp;`)."""
    escaped = escape(raw)
    if len(escaped) <= limit:
        return escaped
    budget = limit - len(note)
    out: list[str] = []
    used = 0
    for char in raw:
        piece = escape(char)
        if used + len(piece) > budget:
            break
        out.append(piece)
        used += len(piece)
    return ("".join(out).rstrip() + note)[:limit]


def fit_joined(items: Sequence[str], limit: int, sep: str = " · ") -> str:
    """Already-formatted items joined; items that do not fit are counted instead of cut mid-markup."""
    kept: list[str] = []
    for i, item in enumerate(items):
        after = len(items) - i - 1
        reserve = len(f"{sep}… {after} more notes") if after else 0
        if len(sep.join([*kept, item])) + reserve > limit:
            return sep.join([*kept, f"… {len(items) - i} more notes"])
        kept.append(item)
    return sep.join(kept)


def cut_line(line: str, limit: int) -> str:
    """A formatted line cut to `limit`, not inside a `<…>` token, an entity or a `code` span."""
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    for opener, closer in (("<", ">"), ("&", ";")):
        last_open = cut.rfind(opener)
        if last_open > cut.rfind(closer):
            cut = cut[:last_open]
    if cut.count("`") % 2:
        cut = cut[: cut.rfind("`")]
    return cut.rstrip() + "…"


def code_span(raw: str, limit: int) -> str:
    text = fit(one_line(raw).replace("`", "'"), limit - 2)
    return f"`{text}`" if text else ""


def link(url: str | None, label: str) -> str:
    if not url:
        return escape(label)
    safe_label = escape(label.replace("|", "/"))
    # Our URLs are percent-encoded already; & is escaped as Slack asks, | and the brackets cannot occur.
    target = url.replace("&", "&amp;").replace("|", "%7C").replace("<", "%3C").replace(">", "%3E")
    return f"<{target}|{safe_label}>"


def mention(value: str, limit: int = 200) -> str:
    """A mention as is; anything else as plain escaped text (never a ping someone did not mean)."""
    value = value.strip()
    return value if is_mention(value) else fit(value, limit)


def when(value: Any, *, time_only: bool = False) -> str:
    """A moment as Slack's date token (shown in the reader's time zone) with a UTC fallback text."""
    moment = _parse_time(value)
    if moment is None:
        return escape(str(value)) if value else "?"
    fallback = moment.strftime("%H:%M UTC" if time_only else "%Y-%m-%d %H:%M UTC")
    fmt = "{time}" if time_only else "{date_short_pretty} {time}"
    return f"<!date^{int(moment.timestamp())}^{fmt}|{fallback}>"


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
