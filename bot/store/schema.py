"""The store's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

    jobbot_meta      key/value facts about the database itself (schema_version)
    jobbot_audit     one row per command or click: who, where, what, when, outcome, duration (redacted)
    jobbot_claims    (kind, key) → owner: exactly one process wins; a TTL lets a crashed owner be replaced
    jobbot_records   (kind, key) → JSON value with a version for optimistic concurrency
    jobbot_timers    (kind, key) → due time and payload; a poller claims due rows by setting `owner`
    review_snapshots the job definition each review saw, secret values masked (`review --diff` reads them back)

Times are stored in UTC: `timestamptz` on PostgreSQL, naive UTC text on SQLite (which compares correctly
as text because every value has the same format). Python always sees timezone-aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB

# The number of the newest migration (bot/store/migrations/versions): a table changes only through one.
SCHEMA_VERSION = 3


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime in, a UTC datetime out; naive datetimes are refused (they are bugs)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the store; use an aware one")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSON as TEXT on SQLite, JSONB on PostgreSQL.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY.
RowId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

meta = Table(
    "jobbot_meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

audit = Table(
    "jobbot_audit",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", Text, nullable=False),
    Column("channel", Text),
    Column("action", Text, nullable=False),
    Column("target", Text),
    Column("detail", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Index("ix_jobbot_audit_at", "at"),
    Index("ix_jobbot_audit_actor_at", "actor", "at"),
    Index("ix_jobbot_audit_target_at", "target", "at"),
)

claims = Table(
    "jobbot_claims",
    metadata,
    Column("kind", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("owner", Text, nullable=False),
    Column("claimed_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),  # NULL: held until released
)

records = Table(
    "jobbot_records",
    metadata,
    Column("kind", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("value", JSONDocument, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

timers = Table(
    "jobbot_timers",
    metadata,
    Column("kind", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    # New on every schedule, so `done` for an earlier firing never removes a rescheduled timer.
    Column("id", Text, nullable=False, unique=True),
    Column("due_at", UTCDateTime, nullable=False),
    Column("payload", JSONDocument, nullable=False),
    Column("owner", Text),  # NULL: waiting; set: claimed by a poller, firing
    Column("claimed_at", UTCDateTime),
    Index("ix_jobbot_timers_due_at", "due_at"),
    Index("ix_jobbot_timers_kind_due_at", "kind", "due_at"),  # migration 0002
)

review_snapshots = Table(  # migration 0003
    "review_snapshots",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("job_id", Text, nullable=False),  # the job's ARM id, lower-cased
    Column("taken_at", UTCDateTime, nullable=False),  # when the review read the definition
    Column("definition", JSONDocument, nullable=False),  # ARM JSON, masked by bot.review.masking
    Index("ix_review_snapshots_job_taken", "job_id", "taken_at"),
)

TABLES: tuple[Table, ...] = (meta, audit, claims, records, timers, review_snapshots)


def as_dict(value: Any) -> dict[str, Any]:
    """A JSON column read back as a plain dict (drivers already decode it)."""
    if not isinstance(value, dict):
        raise TypeError(f"expected a JSON object in the store, got {type(value).__name__}")
    return value
