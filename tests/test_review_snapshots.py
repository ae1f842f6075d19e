"""The review_snapshots table (migration 0003), on SQLite and PostgreSQL: the newest snapshot of a job at or before a
moment comes back as stored; another job's, or a later one, never."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from bot.store import Store

JOB = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/jobs/Invoice-Render"
OTHER = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/jobs/other"
T = datetime(2026, 12, 4, 9, tzinfo=UTC)


def body(timeout: int) -> dict[str, object]:
    return {"id": JOB, "properties": {"configuration": {"replicaTimeout": timeout}}}


async def test_the_newest_snapshot_at_or_before_a_moment_is_read_back(db_url: str) -> None:
    with Store.open(db_url) as store:
        assert await store.snapshots.at_or_before(JOB, T) is None
        await store.snapshots.save(JOB, T - timedelta(days=2), body(600))
        await store.snapshots.save(JOB, T, body(1800))
        await store.snapshots.save(JOB, T + timedelta(hours=1), body(300))
        await store.snapshots.save(OTHER, T + timedelta(minutes=1), body(5))
        found = await store.snapshots.at_or_before(JOB.lower(), T + timedelta(minutes=30))  # ids match in any case
        assert found is not None
        assert (found.taken_at, found.definition) == (T, body(1800))
        earliest = await store.snapshots.at_or_before(JOB, T - timedelta(days=1))
        assert earliest is not None and earliest.definition == body(600)
        assert await store.snapshots.at_or_before(JOB, T - timedelta(days=3)) is None


async def test_a_known_secret_under_an_innocent_name_is_never_stored(db_url: str) -> None:
    planted = "7f3a9c2e5b8d1f4a6c0e9b2d5f8a1c3e"  # e.g. the signing secret, pasted into a job's env by mistake
    definition = {"id": JOB, "properties": {"template": {"containers": [{"name": "worker", "env": [
        {"name": "REPORT_LOCALE", "value": planted}, {"name": "QUEUE_NAME", "value": "invoice-events"}]}]}}}
    with Store.open(db_url, secrets=[planted]) as store:
        await store.snapshots.save(JOB, T, definition)
        with store._db.engine.connect() as conn:
            stored = [str(row[0]) for row in conn.execute(text("SELECT definition FROM review_snapshots"))]
        found = await store.snapshots.at_or_before(JOB, T)
    assert len(stored) == 1 and planted not in stored[0] and "invoice-events" in stored[0]
    assert found is not None
    env = found.definition["properties"]["template"]["containers"][0]["env"]
    assert env == [{"name": "REPORT_LOCALE", "value": "[REDACTED]"}, {"name": "QUEUE_NAME", "value": "invoice-events"}]


def rows(store: Store, job: str) -> list[datetime]:
    with store._db.engine.connect() as conn:
        found = conn.execute(text("SELECT taken_at FROM review_snapshots WHERE job_id = :job"), {"job": job.lower()})
        return [row[0] for row in found]


async def test_an_unchanged_definition_is_kept_once(db_url: str) -> None:
    with Store.open(db_url) as store:
        for day in range(5):  # reviewed daily, never changed
            await store.snapshots.save(JOB, T + timedelta(days=day), body(600))
        assert len(rows(store, JOB)) == 1
        found = await store.snapshots.at_or_before(JOB, T + timedelta(days=4))
        assert found is not None and (found.taken_at, found.definition) == (T, body(600))
        await store.snapshots.save(JOB, T + timedelta(days=5), body(300))  # changed: kept
        await store.snapshots.save(JOB, T + timedelta(days=6), body(600))  # changed back: kept again
        assert len(rows(store, JOB)) == 3
        back = await store.snapshots.at_or_before(JOB, T + timedelta(days=6))
        assert back is not None and back.taken_at == T + timedelta(days=6)


async def test_snapshots_older_than_90_days_go_but_the_one_in_force_then(db_url: str) -> None:
    with Store.open(db_url) as store:
        for days_ago, timeout in ((200, 1), (150, 2), (100, 3)):
            await store.snapshots.save(JOB, T - timedelta(days=days_ago), body(timeout))
        await store.snapshots.save(OTHER, T - timedelta(days=200), body(9))
        assert len(rows(store, JOB)) == 3
        await store.snapshots.save(JOB, T, body(4))
        assert len(rows(store, JOB)) == 2  # 200 and 150 days old: gone
        at_start = await store.snapshots.at_or_before(JOB, T - timedelta(days=90))  # as far back as --at goes
        assert at_start is not None and at_start.definition == body(3)
        assert await store.snapshots.at_or_before(JOB, T - timedelta(days=120)) is None
        assert len(rows(store, OTHER)) == 1  # another job's are its own to prune
