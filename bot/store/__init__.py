"""The state store features share: audit trail, claims, versioned records and timers, on SQLite or PostgreSQL.

    store = Store.open(os.environ.get("JOBBOT_DATABASE_URL"), secrets=[signing_secret, alert_token])
    await store.audit.record(AuditEntry(...))                   # redacted on the way in
    if await store.claims.claim("alert-post", alert_id, me):    # exactly one replica wins
        ...
    await store.records.update("checklist", thread_ts, tick)    # optimistic versioning, retried
    await store.timers.schedule("escalate", alert_id, due_at, {"level": 1})
    for timer in await store.timers.due(clock.now(), me): ...   # each timer fired by one replica only

Opening creates any missing table (no migration step). Every method is async; the SQL runs in worker
threads on a thread-safe sync engine (see `engine`). Claims and timers are correct across processes
sharing PostgreSQL, and across processes sharing one SQLite file (whose transactions are serialized).

Modules, one job each: `handle` (Store), `audit`, `claims`, `records`, `timers`, `snapshots`; `engine` (URL, engine,
schema creation, the worker-thread transactions), `schema` (the tables), `redact`.
"""

from __future__ import annotations

from bot.store.audit import AuditEntry, AuditLog
from bot.store.claims import Claims
from bot.store.engine import DEFAULT_URL, StaleVersion, StoreError, StoreUnavailable
from bot.store.handle import PING_TIMEOUT_S, Store
from bot.store.records import Records, Versioned
from bot.store.redact import redact
from bot.store.snapshots import Snapshot, Snapshots
from bot.store.timers import Timer, Timers

__all__ = [
    "DEFAULT_URL",
    "PING_TIMEOUT_S",
    "AuditEntry",
    "AuditLog",
    "Claims",
    "Records",
    "Snapshot",
    "Snapshots",
    "StaleVersion",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "Timer",
    "Timers",
    "Versioned",
    "redact",
]
