"""The audit trail: every command and click, who, where, what, when, outcome and how long — never a secret.

Every text field passes through `redact` (with the secret values the store was opened with) on its way
in, so nothing a caller forgets to clean can reach the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from bot.store.engine import Database
from bot.store.redact import redact
from bot.store.schema import audit

# Details are notes, not payloads: long ones are cut (after redaction, so no secret is cut in half).
MAX_DETAIL_CHARS = 4000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime  # timezone-aware
    actor: str  # Slack user id, or "alert:<rule>" / "cli:<user>"
    channel: str | None
    action: str  # "command:triage", "click:ack" …
    target: str | None  # usually the job name
    detail: str  # free text, redacted before it is stored
    outcome: str  # "ok", "refused", "not-found", "error" …
    duration_ms: int


class AuditLog:
    def __init__(self, db: Database, secrets: Sequence[str]) -> None:
        self._db = db
        self._secrets = tuple(secrets)

    async def record(self, entry: AuditEntry) -> AuditEntry:
        """Store one entry (redacted); returns what was stored."""
        if entry.at.tzinfo is None:
            raise ValueError("AuditEntry.at must be timezone-aware")
        clean = self.redacted(entry)

        def write(conn: Connection) -> None:
            conn.execute(audit.insert().values(
                at=clean.at, actor=clean.actor, channel=clean.channel, action=clean.action, target=clean.target,
                detail=clean.detail, outcome=clean.outcome, duration_ms=clean.duration_ms,
            ))

        await self._db.transaction(write)
        return clean

    async def recent(self, limit: int = 50, *, actor: str | None = None, target: str | None = None) -> list[AuditEntry]:
        """The newest entries first, optionally only one actor's or one target's."""
        query = select(audit).order_by(audit.c.at.desc(), audit.c.id.desc()).limit(max(0, limit))
        if actor is not None:
            query = query.where(audit.c.actor == actor)
        if target is not None:
            query = query.where(audit.c.target == target)

        def read(conn: Connection) -> list[AuditEntry]:
            return [_entry(row._mapping) for row in conn.execute(query)]

        return await self._db.transaction(read)

    async def prune(self, before: datetime) -> int:
        """Delete entries older than `before` (the retention setting); returns how many went."""
        if before.tzinfo is None:
            raise ValueError("prune: `before` must be timezone-aware")
        statement = delete(audit).where(audit.c.at < before)
        return await self._db.transaction(lambda conn: int(conn.execute(statement).rowcount or 0))

    def redacted(self, entry: AuditEntry) -> AuditEntry:
        def clean(text: str) -> str:
            return redact(text, self._secrets)

        detail = clean(entry.detail)
        if len(detail) > MAX_DETAIL_CHARS:
            detail = detail[: MAX_DETAIL_CHARS - 1] + "…"
        return replace(
            entry,
            actor=clean(entry.actor),
            channel=None if entry.channel is None else clean(entry.channel),
            action=clean(entry.action),
            target=None if entry.target is None else clean(entry.target),
            detail=detail,
            outcome=clean(entry.outcome),
            duration_ms=max(0, int(entry.duration_ms)),
        )


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        at=row["at"], actor=row["actor"], channel=row["channel"], action=row["action"], target=row["target"],
        detail=row["detail"], outcome=row["outcome"], duration_ms=row["duration_ms"],
    )
