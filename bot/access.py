"""Who may run what, where. No rules = every channel, anyone may read; config narrows it down."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Commands that only read: with no rules, anyone in an allowed channel may run them.
ALWAYS_ALLOWED = frozenset({"help"})
MEMBERS_TTL_S = 300.0  # usergroups.users.list is rate tier 2 (~20/min): cache it

MembersLookup = Callable[[str], Awaitable[Sequence[str]]]


@dataclass(frozen=True, slots=True)
class Rule:
    users: frozenset[str] = frozenset()
    user_groups: frozenset[str] = frozenset()
    channels: frozenset[str] | None = None  # None = the global channel list applies


@dataclass(frozen=True, slots=True)
class AccessRules:
    """The `access:` section, typed: the channels commands may run in (None: any), and per-command rules."""

    channels: frozenset[str] | None = None
    commands: Mapping[str, Rule] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str = ""


def parse_rules(access: Mapping[str, Any] | None) -> AccessRules:
    """The `access:` mapping (as validated by the config schema) as typed rules."""
    access = access or {}
    channels = access.get("channels")
    rules = {
        str(name): Rule(
            users=frozenset(rule.get("users") or ()),
            user_groups=frozenset(rule.get("user_groups") or ()),
            channels=frozenset(rule["channels"]) if rule.get("channels") is not None else None,
        )
        for name, rule in (access.get("commands") or {}).items()
    }
    return AccessRules(frozenset(channels) if channels is not None else None, rules)


class AccessPolicy:
    def __init__(self, access: AccessRules | Mapping[str, Any] | None, members: MembersLookup) -> None:
        rules = access if isinstance(access, AccessRules) else parse_rules(access)
        self._channels, self._rules = rules.channels, rules.commands
        self._members = members
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    async def decide(self, command: str, user_id: str, channel_id: str) -> Decision:
        if command in ALWAYS_ALLOWED:
            return Decision(True)
        rule = self._rules.get(command)
        channels = rule.channels if rule and rule.channels is not None else self._channels
        if channels is not None and channel_id not in channels:
            return Decision(False, f"`{command}` is not enabled in this channel. Ask in one of the incident "
                                   "channels jobbot is configured for.")
        if rule is None or (not rule.users and not rule.user_groups):
            return Decision(True)
        if user_id in rule.users:
            return Decision(True)
        for group in sorted(rule.user_groups):
            if user_id in await self._group(group):
                return Decision(True)
        groups = ", ".join(f"<!subteam^{g}>" for g in sorted(rule.user_groups))
        return Decision(False, f"`{command}` is limited to {groups or 'named users'}; you are not in it.")

    async def _group(self, group: str) -> frozenset[str]:
        cached = self._cache.get(group)
        if cached and time.monotonic() - cached[0] < MEMBERS_TTL_S:
            return cached[1]
        members = frozenset(await self._members(group))
        self._cache[group] = (time.monotonic(), members)
        return members
