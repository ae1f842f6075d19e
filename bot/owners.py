"""Who owns a job and who comes next: from the config catalog, else the job's tags, as Slack mentions."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class ConfiguredOwners:
    """`jobs.<name>.owners` in the config: Slack ids, mentions or directory names; each wins over the tags."""

    primary: str | None = None
    escalation: tuple[str, ...] = ()
    escalate_after_min: float | None = None  # per tier, instead of `alerts.escalate_after_min`


def _split(value: str | None) -> list[str]:
    return [v for v in re.split(r"[,;\s]+", value) if v] if value else []


def resolve_owners(
    tags: Mapping[str, str],
    configured: ConfiguredOwners | None = None,
    directory: Mapping[str, str] | None = None,
) -> Owners | None:
    """Config wins over tags; tags `owner` (primary), `oncall` (first tier) and `escalation` (the rest)."""
    configured = configured or ConfiguredOwners()
    lowered = {k.lower(): v for k, v in tags.items()}
    primary_raw = configured.primary or lowered.get("oncall") or lowered.get("owner")
    chain: Sequence[str] = configured.escalation or [
        *([lowered["owner"]] if lowered.get("oncall") and lowered.get("owner") else []),
        *_split(lowered.get("escalation")),
    ]
    if not primary_raw and not chain:
        return None
    primary = mention(str(primary_raw), directory) if primary_raw else None
    escalation = tuple(dict.fromkeys(m for m in (mention(c, directory) for c in chain) if m != primary))
    return Owners(primary, escalation)
