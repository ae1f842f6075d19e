"""Database side of `jobbot doctor`: the store opens, answers and takes a write, as /readyz asks of it."""

from __future__ import annotations

from bot.doctor.model import Finding, Status
from bot.errors import JobbotError
from bot.settings import Settings


async def store_findings(settings: Settings) -> list[Finding]:
    from bot.store import Store
    from bot.store.engine import create_store_engine, database_url
    from bot.store.migrate import schema_state

    kind = settings.database_url.split(":", 1)[0] or "sqlite"
    # The schema first, read-only: the doctor reports an old schema, it does not upgrade it behind your back.
    try:
        engine = create_store_engine(database_url(settings.database_url))
        try:
            state = schema_state(engine)
        finally:
            engine.dispose()
    except (JobbotError, ValueError) as error:
        return [Finding("database", "open", Status.FAIL, str(error),
                        "set JOBBOT_DATABASE_URL to sqlite:///path/jobbot.db or postgresql://user@host/db")]
    except Exception as error:  # any driver error: not reachable
        return [Finding("database", "reachable and writable", Status.FAIL, f"{kind}: {type(error).__name__}",
                        "check that the database in JOBBOT_DATABASE_URL is up, reachable and writable by this user")]
    if state.current is None and not state.legacy:  # nothing to write to yet, and the doctor creates nothing
        return [Finding("database", "schema", Status.OK, f"empty: `jobbot serve` creates schema {state.head}")]
    if not state.at_head:
        return [Finding("database", "schema", Status.FAIL, state.describe(),
                        "run `jobbot migrate` (or start `jobbot serve` without JOBBOT_MIGRATE=0)")]
    schema = Finding("database", "schema", Status.OK, f"at {state.head}, this jobbot's")
    try:
        store = Store.open(settings.database_url, secrets=settings.secrets, migrate=False)
    except (JobbotError, ValueError) as error:
        return [schema, Finding("database", "open", Status.FAIL, str(error),
                                "set JOBBOT_DATABASE_URL to sqlite:///path/jobbot.db or postgresql://user@host/db")]
    try:
        await store.ping()
    except Exception as error:  # any driver error: the store is not usable, say which kind
        return [schema, Finding("database", "reachable and writable", Status.FAIL,
                                f"{kind}: {type(error).__name__}", "check that the database in JOBBOT_DATABASE_URL is "
                                "up, reachable and writable by this user")]
    finally:
        store.close()
    return [schema, Finding("database", "reachable and writable", Status.OK, kind)]
