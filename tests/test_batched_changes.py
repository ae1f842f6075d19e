"""Change history batched across jobs (issue 13): triages started together ask Resource Graph once (its quota
is about 15 queries per 5 s per user, and a 50-job board asked 50), and each job still gets exactly the rows
its own query returns.

The equality is checked on every bundled scenario that has change history, and on the change world (a
child resource of the environment, a vault matched by name), through the real SDK against the emulator,
which runs the real `resource_changes.kql`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.assets import bundled_scenarios
from bot.azure.changes import AzureChangesReader
from bot.azure.credentials import StaticTokenCredential
from bot.azure.endpoints import Endpoints
from bot.azure.resources import parse_job
from bot.emulator.scenario import Scenario, load_scenario, parse_scenario
from bot.emulator.server import Emulator
from bot.errors import UpstreamError
from bot.evidence import batched_changes
from bot.evidence.batched_changes import BatchedChanges, matches
from tests.support.change_world import ENV_ID, JOB_ID, START, world

WITH_HISTORY = [p for p in bundled_scenarios() if load_scenario(p).resource_changes]
GUID = re.compile(r"[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}", re.IGNORECASE)
Ask = tuple[list[str], list[str]]  # (ids, names), as a triage asks


def asks_of(scenario: Scenario) -> list[Ask]:
    """What each job of the world asks (its id and environment, its dependencies' names), and one ask of
    a name alone (a registry or vault named only by its DNS name)."""
    asks: list[Ask] = []
    for raw in scenario.jobs:
        job = parse_job(raw)
        names = sorted({d.lower() for d in job.dependencies if not GUID.fullmatch(d)})  # principals are not names
        asks.append(([i.lower() for i in (job.ref.id, job.environment_id) if i], names))
    return [*asks, ([], ["sample-vault"])]


def reader(em: Emulator) -> AzureChangesReader:
    endpoints = Endpoints(arm=em.url, logs=em.url, queue_account=em.url + "/{account}", ca_file=em.ca_file)
    return AzureChangesReader(StaticTokenCredential(), (), endpoints)


async def alone_and_batched(em: Emulator, asks: list[Ask], since: datetime) -> tuple[list[Any], list[Any], int]:
    changes = reader(em)
    try:
        alone = [await changes.resource_changes(ids, since, names) for ids, names in asks]
        em.clear_requests()
        batched = BatchedChanges(changes, window_s=0.05)
        together = await asyncio.gather(*(batched.resource_changes(ids, since, names) for ids, names in asks))
        return alone, list(together), len([r for r in em.requests if "resourcegraph" in r.path.lower()])
    finally:
        await changes.close()


@pytest.mark.parametrize("path", WITH_HISTORY, ids=lambda p: Path(p).stem)
async def test_each_jobs_rows_of_a_batch_equal_its_own_query(path: Path) -> None:
    scenario = load_scenario(path)
    asks = asks_of(scenario)
    with Emulator(scenario) as em:
        alone, together, queries = await alone_and_batched(em, asks, scenario.now - timedelta(days=14))
    assert together == alone
    assert any(alone), "the world has change history some job asks for"
    assert queries == 1, "one Resource Graph query for every job's ask"


async def test_children_and_names_are_matched_as_the_query_matches_them() -> None:
    asks: list[Ask] = [([JOB_ID.lower()], []), ([ENV_ID.lower()], []), ([], ["sample-vault"]),
                       ([JOB_ID.lower(), ENV_ID.lower()], ["sample-vault"]), (["/subscriptions/none"], [])]
    with Emulator(parse_scenario(world())) as em:
        alone, together, queries = await alone_and_batched(em, asks, START)
    assert together == alone and queries == 1
    env_child = [r["properties"]["targetResourceId"] for r in alone[1]]
    assert env_child == [f"{ENV_ID}/providers/Microsoft.Foo/bar/x"], "a child of the environment is its change"
    assert alone[2] and alone[4] == []


# -- the batching itself, on a recording reader ------------------------------------------------------------


def row(target: str) -> dict[str, Any]:
    return {"id": f"{target}/providers/Microsoft.Resources/changes/1", "properties": {"targetResourceId": target}}


class Recording:
    """A ChangesReader that answers every ask from `rows` as the query would, and records the asks."""

    def __init__(self, rows: Sequence[Mapping[str, Any]], fail: bool = False) -> None:
        self.rows, self.fail = rows, fail
        self.asks: list[tuple[list[str], list[str]]] = []

    async def resource_changes(self, resource_ids: Sequence[str], since: datetime,
                               related: Sequence[str] = ()) -> Sequence[Mapping[str, Any]]:
        self.asks.append((list(resource_ids), list(related)))
        await asyncio.sleep(0)
        if self.fail:
            raise UpstreamError("Resource Graph answered HTTP 429 (RateLimiting)")
        ids, names = frozenset(resource_ids), frozenset(related)
        return [r for r in self.rows if matches(r, ids, names)]


SUB = "/subscriptions/s/resourcegroups/rg/providers/microsoft.app/jobs"
T = datetime(2026, 11, 28)


async def test_a_batch_that_reached_the_querys_cap_is_asked_job_by_job(monkeypatch: pytest.MonkeyPatch) -> None:
    inner = Recording([row(f"{SUB}/a"), row(f"{SUB}/b"), row(f"{SUB}/c")])
    batched = BatchedChanges(inner, window_s=0.01)  # type: ignore[arg-type]
    monkeypatch.setattr(batched, "_cap", 2)  # the batch of a and b returns 2 rows: the cap
    a, b = await asyncio.gather(batched.resource_changes([f"{SUB}/a"], T), batched.resource_changes([f"{SUB}/b"], T))
    assert [r["properties"]["targetResourceId"] for r in a] == [f"{SUB}/a"]
    assert [r["properties"]["targetResourceId"] for r in b] == [f"{SUB}/b"]
    assert len(inner.asks) == 3, "the batch, then each ask alone"


async def test_a_failed_batch_is_every_asks_error() -> None:
    batched = BatchedChanges(Recording([], fail=True), window_s=0.01)  # type: ignore[arg-type]
    answers = await asyncio.gather(batched.resource_changes([f"{SUB}/a"], T), batched.resource_changes([f"{SUB}/b"], T),
                                   return_exceptions=True)
    assert all(isinstance(a, UpstreamError) and "429" in str(a) for a in answers)


async def test_a_full_batch_leaves_at_once_and_the_next_asks_start_another(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batched_changes, "MAX_ASKS", 3)
    inner = Recording([row(f"{SUB}/{i}") for i in range(7)])
    batched = BatchedChanges(inner, window_s=0.01)  # type: ignore[arg-type]
    answers = await asyncio.gather(*(batched.resource_changes([f"{SUB}/{i}"], T) for i in range(7)))
    assert [[r["properties"]["targetResourceId"] for r in a] for a in answers] == [[f"{SUB}/{i}"] for i in range(7)]
    assert [len(ids) for ids, _ in inner.asks] == [3, 3, 1]


async def test_asks_of_different_windows_are_never_merged() -> None:
    inner = Recording([row(f"{SUB}/a")])
    batched = BatchedChanges(inner, window_s=0.01)  # type: ignore[arg-type]
    await asyncio.gather(batched.resource_changes([f"{SUB}/a"], T),
                         batched.resource_changes([f"{SUB}/a"], T - timedelta(days=1)))
    assert len(inner.asks) == 2


async def test_a_lone_triage_asks_at_once_and_alone() -> None:
    inner = Recording([row(f"{SUB}/a")])
    batched = BatchedChanges(inner, window_s=60.0, crowded=lambda: False)  # type: ignore[arg-type]
    [only] = await asyncio.wait_for(batched.resource_changes([f"{SUB}/a"], T), timeout=30)
    assert only["properties"]["targetResourceId"] == f"{SUB}/a" and inner.asks == [([f"{SUB}/a"], [])]
