"""Who may change a step that needs an owner's approval: members of the job's owning user groups, or
the owners named as users.

Group membership comes from `usergroups.users.list` (rate tier 2, ~20/min), so it is cached for a few
minutes and concurrent lookups of one group share a single call: ten people clicking at once cost one
request, not ten.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence

log = logging.getLogger(__name__)

MembersLookup = Callable[[str], Awaitable[Sequence[str]]]
MEMBERS_TTL_S = 300.0
_GROUP = re.compile(r"^<!subteam\^([A-Z0-9]+)(?:\|[^<>]*)?>$")
_USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>$")


class Approvals:
    def __init__(self, members: MembersLookup, *, ttl_s: float = MEMBERS_TTL_S) -> None:
        self._members = members
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[float, asyncio.Task[frozenset[str]]]] = {}

    async def may_approve(self, user: str, approvers: Sequence[str]) -> bool:
        """True when `user` is one of the approver users or a member of one of the approver groups."""
        groups = []
        for mention in approvers:
            if (found := _USER.match(mention)) and found.group(1) == user:
                return True
            if found := _GROUP.match(mention):
                groups.append(found.group(1))
        for group in groups:
            if user in await self._group(group):
                return True
        return False

    async def _group(self, group: str) -> frozenset[str]:
        cached = self._cache.get(group)
        if cached is None or time.monotonic() - cached[0] > self._ttl_s:
            cached = (time.monotonic(), asyncio.ensure_future(self._fetch(group)))
            self._cache[group] = cached
        return await asyncio.shield(cached[1])

    async def _fetch(self, group: str) -> frozenset[str]:
        try:
            return frozenset(await self._members(group))
        except Exception:
            # An unknown or unreadable group approves nobody; forget it so the next click asks again.
            log.warning("could not list the members of user group %s", group, exc_info=True)
            self._cache.pop(group, None)
            return frozenset()
