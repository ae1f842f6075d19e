"""Who owns a job and who comes next: from the config catalog, else the job's tags, as Slack mentions."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.model import Owners

_GROUP_ID = re.compile(r"^S[A-Z0-9]{6,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{6,}$")


def mention(value: str, directory: Mapping[str, str] | None = None) -> str:
    """'S0OWN' -> '<!subteam^S0OWN>', 'U0MGR' -> '<@U0MGR>', a mention stays as is, a known name maps through
    the directory (e.g. tag 'team-orders' -> its user group); anything else stays readable text."""
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        return value
    key = value.lstrip("@").lower()
    if directory and key in directory:
        return mention(directory[key])
    if _GROUP_ID.match(value):
        return f"<!subteam^{value}>"
    if _USER_ID.match(value):
        return f"<@{value}>"
    return value


def _split(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[,;\s]+", value) if v]
    return [str(v) for v in value]


def resolve_owners(
    tags: Mapping[str, str],
    configured: Mapping[str, Any] | None = None,
    directory: Mapping[str, str] | None = None,
) -> Owners | None:
    """Config wins over tags; tags `owner` (primary), `oncall` (first tier) and `escalation` (the rest)."""
    configured = configured or {}
    lowered = {k.lower(): v for k, v in tags.items()}
    primary_raw = configured.get("primary") or lowered.get("oncall") or lowered.get("owner")
    chain: Sequence[str] = _split(configured.get("escalation")) or [
        *([lowered["owner"]] if lowered.get("oncall") and lowered.get("owner") else []),
        *_split(lowered.get("escalation")),
    ]
    if not primary_raw and not chain:
        return None
    primary = mention(str(primary_raw), directory) if primary_raw else None
    escalation = tuple(dict.fromkeys(m for m in (mention(c, directory) for c in chain) if m != primary))
    return Owners(primary, escalation)
