"""Claims: exclusive (kind, key) → owner rows, so exactly one replica does a thing (with an optional TTL)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, or_, select, update

from bot.clock import Clock
from bot.store.engine import Database
from bot.store.schema import claims


class Claims:
    """Exclusive (kind, key) → owner rows: the first claimant wins until it releases or its TTL runs out.

    Claiming again as the current owner returns False like any other loser: a claim means "this call
    won", so a repeated delivery handled by the same replica is not mistaken for a first one.
    """

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def claim(self, kind: str, key: str, owner: str, *, ttl_s: float | None = None) -> bool:
        """True if this call now holds (kind, key): it was free, or its holder's TTL has run out."""
        now = self._clock.now()
        expires_at = _expiry(now, ttl_s)

        def work(conn: Connection) -> bool:
            fresh = self._db.insert(claims).values(
                kind=kind, key=key, owner=owner, claimed_at=now, expires_at=expires_at
            ).on_conflict_do_nothing(index_elements=[claims.c.kind, claims.c.key])
            if conn.execute(fresh).rowcount == 1:
                return True
            # A concurrent taker blocks on the row lock, then re-checks the WHERE and finds it unexpired.
            takeover = update(claims).where(
                claims.c.kind == kind, claims.c.key == key,
                claims.c.expires_at.is_not(None), claims.c.expires_at <= now,
            ).values(owner=owner, claimed_at=now, expires_at=expires_at)
            return conn.execute(takeover).rowcount == 1

        return await self._db.transaction(work)

    async def renew(self, kind: str, key: str, owner: str, *, ttl_s: float | None) -> bool:
        """Extend (or, with None, drop) the TTL of a claim `owner` still holds; False if it lost it."""
        now = self._clock.now()
        expires_at = _expiry(now, ttl_s)
        statement = update(claims).where(
            claims.c.kind == kind, claims.c.key == key, claims.c.owner == owner
        ).values(expires_at=expires_at)
        return await self._db.transaction(lambda conn: conn.execute(statement).rowcount == 1)

    async def release(self, kind: str, key: str, owner: str) -> bool:
        """Give up a claim `owner` holds; False if it held none."""
        statement = delete(claims).where(claims.c.kind == kind, claims.c.key == key, claims.c.owner == owner)
        return await self._db.transaction(lambda conn: conn.execute(statement).rowcount == 1)

    async def holder(self, kind: str, key: str) -> str | None:
        """Who holds (kind, key) now; None if nobody, or the holder's TTL has run out."""
        now = self._clock.now()
        query = select(claims.c.owner).where(
            claims.c.kind == kind, claims.c.key == key,
            or_(claims.c.expires_at.is_(None), claims.c.expires_at > now),
        )
        found: str | None = await self._db.transaction(lambda conn: conn.scalar(query))
        return found


def _expiry(now: datetime, ttl_s: float | None) -> datetime | None:
    if ttl_s is None:
        return None
    if ttl_s <= 0:
        raise ValueError(f"ttl_s must be positive, got {ttl_s}")
    return now + timedelta(seconds=ttl_s)
