"""Review snapshots: the job definition each review saw, masked, so a later `review --diff --at` has a before.

The caller masks by shape and name (bot.review.masking); on the way in every string is also redacted with the
secret values the store was opened with (as the audit trail is), so a known secret kept under an innocent name
(`REPORT_MODE=<the signing secret>`) is never stored. Reads back the newest snapshot taken at or before a moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select

from bot.store.engine import Database
from bot.store.redact import redact_data
from bot.store.schema import as_dict, review_snapshots

# `review --diff --at` reaches back 90 days: older snapshots answer nothing, but the newest of them still says how
# the job was at the start of those 90 days, so it stays.
KEEP = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class Snapshot:
    job_id: str
    taken_at: datetime
    definition: dict[str, Any]


class Snapshots:
    def __init__(self, db: Database, secrets: Sequence[str] = ()) -> None:
        self._db = db
        self._secrets = tuple(secrets)

    async def save(self, job_id: str, taken_at: datetime, definition: dict[str, Any]) -> None:
        """Keep the definition unless it is what the job's newest snapshot already holds (a job reviewed daily and
        never changed costs one row), and drop the job's snapshots older than `KEEP` but the one in force then."""
        clean = redact_data(definition, self._secrets)
        job = job_id.lower()
        table = review_snapshots.c
        newest = (select(table.definition).where(table.job_id == job)
                  .order_by(table.taken_at.desc(), table.id.desc()).limit(1))
        cutoff = taken_at - KEEP
        in_force = (select(table.id).where(table.job_id == job, table.taken_at < cutoff)
                    .order_by(table.taken_at.desc(), table.id.desc()).limit(1))

        def write(conn: Connection) -> None:
            row = conn.execute(newest).first()
            if row is not None and as_dict(row.definition) == clean:
                return
            conn.execute(review_snapshots.insert().values(job_id=job, taken_at=taken_at, definition=clean))
            kept = conn.execute(in_force).scalar()
            if kept is not None:
                conn.execute(delete(review_snapshots).where(table.job_id == job, table.taken_at < cutoff,
                                                            table.id != kept))

        await self._db.transaction(write)

    async def at_or_before(self, job_id: str, moment: datetime) -> Snapshot | None:
        """The newest snapshot of the job taken at or before `moment` (ties: the last stored)."""
        query = (select(review_snapshots.c.taken_at, review_snapshots.c.definition)
                 .where(review_snapshots.c.job_id == job_id.lower(), review_snapshots.c.taken_at <= moment)
                 .order_by(review_snapshots.c.taken_at.desc(), review_snapshots.c.id.desc()).limit(1))

        def read(conn: Connection) -> Snapshot | None:
            row = conn.execute(query).first()
            return None if row is None else Snapshot(job_id.lower(), row.taken_at, as_dict(row.definition))

        return await self._db.transaction(read)
