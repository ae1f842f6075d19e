"""Batch across jobs (issue 18): a batched query's rows for each job are exactly what the query for that
job alone returns, on every bundled scenario's world, run by the emulator's engine on the real `.kql` files.

Each scenario is asked for every job its world mentions (its jobs and every job name in its log tables:
the neighbours the queries must keep out) over a day around its incident, so batches mix jobs with rows,
jobs without, and names that differ only in case; and a storm world (one scenario's job cloned into 12
failing jobs) is asked as an alert storm would ask.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.assets import bundled_scenarios
from bot.azure.order import sort_rows
from bot.azure.resources import parse_job
from bot.emulator.logs import LogStore
from bot.emulator.scenario import Scenario, parse_scenario
from bot.evidence.activity_scope import rows_concerning
from bot.evidence.batched_logs import split_by_job
from bot.kql import all_queries, load_query, render
from bot.model import Job, QueryResult
from tests.support.log_stores import open_log_stores

BATCHED = [q.name for q in all_queries() if q.batched]
JOB_COLUMNS = ("JobName_s", "JobName", "ContainerJobName_s")


def test_the_queries_a_triage_runs_per_job_are_batched() -> None:
    assert BATCHED == ["console_errors", "exit_codes", "failed_executions", "platform_errors"]
    assert [q.name for q in all_queries() if q.batch == "lists"] == ["config_changes"]


def world_jobs(scenario: Scenario) -> list[str]:
    names = {str(j["name"]) for j in scenario.jobs}
    for rows in scenario.tables.values():
        names |= {str(row[c]) for row in rows for c in JOB_COLUMNS if row.get(c)}
    # Azure compares names ignoring case: ask for one of them in upper case too.
    ordered = sorted(names)
    return [ordered[0].upper(), *ordered[1:]] if ordered else ordered


def rows(store: LogStore, name: str, jobs: list[str], scenario: Scenario, hours: int) -> tuple[Mapping[str, Any], ...]:
    return answer(store, name, {"jobs": jobs, "start": scenario.now - timedelta(hours=hours), "end": scenario.now})


def answer(store: LogStore, name: str, params: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    text = render(name, **params)
    table = store.run(text)["tables"][0]
    columns = [c["name"] for c in table["columns"]]
    canned = load_query(name)
    # As the bot receives them: in the order the query declares (bot.azure.logs).
    return tuple(sort_rows([dict(zip(columns, r, strict=True)) for r in table["rows"]], canned.order, columns))


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Scenario, LogStore]]]:
    yield from open_log_stores(tmp_path_factory)


@pytest.mark.parametrize("path", bundled_scenarios(), ids=lambda p: Path(p).stem)
def test_each_jobs_rows_of_a_batch_equal_its_own_querys(path: Path, stores: dict[str, tuple[Scenario, LogStore]]
                                                       ) -> None:
    scenario, store = stores[path.stem]
    jobs = world_jobs(scenario)
    assert jobs, "a scenario names at least its own job"
    for name in BATCHED:
        assert_batch_equals_alone(store, scenario, name, jobs)


def assert_batch_equals_alone(store: LogStore, scenario: Scenario, name: str, jobs: list[str]) -> None:
    batch = rows(store, name, jobs, scenario, 24)
    cap = load_query(name).row_cap
    assert cap is not None and len(batch) < cap, "the world fills no batch (a full one is asked per job)"
    per_job = split_by_job(QueryResult(batch), jobs)
    assert sum(len(answer.rows) for answer in per_job.values()) == len(batch), "every row is some asked job's"
    for job in jobs:
        alone = rows(store, name, [job], scenario, 24)
        assert per_job[job.lower()].rows == alone, f"{name}: {job}'s rows differ in a batch"


def test_the_comparison_above_sees_batches_that_mix_jobs(stores: dict[str, tuple[Scenario, LogStore]]) -> None:
    """Not vacuous: bundled worlds answer a batch with rows of several jobs."""
    mixed = []
    for stem, (scenario, store) in stores.items():
        for name in ("failed_executions", "console_errors"):
            batch = rows(store, name, world_jobs(scenario), scenario, 24)
            if len({str(r["JobName"]).lower() for r in batch}) >= 2:
                mixed.append(f"{stem} {name}")
    assert len(mixed) >= 2, json.dumps(mixed)


def storm_world(jobs: int) -> dict[str, Any]:
    """oom-after-image-change with its job cloned `jobs` times: each clone fails as the original does."""
    path = next(p for p in bundled_scenarios() if p.stem == "oom-after-image-change")
    data = yaml.safe_load(path.read_text())
    original = next(j for j in data["jobs"] if j["name"] == STORM_JOB)
    clones = [f"{STORM_JOB}-{i:02d}" for i in range(2, jobs + 1)]

    def cloned(value: Any, name: str) -> Any:
        return json.loads(json.dumps(value).replace(STORM_JOB, name))

    data["jobs"] += [cloned(original, name) for name in clones]
    data["metrics"] += [cloned(m, name) for m in data["metrics"] if m["job"] == STORM_JOB for name in clones]
    for table, table_rows in data["tables"].items():
        mine = [r for r in table_rows if STORM_JOB in json.dumps(r)]
        data["tables"][table] = table_rows + [cloned(r, name) for r in mine for name in clones]
    return dict(data)


STORM_JOB = "orders-processor"


@pytest.fixture(scope="module")
def storm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Scenario, LogStore]]:
    scenario = parse_scenario(storm_world(12))
    store = LogStore(scenario, tmp_path_factory.mktemp("storm"))
    yield scenario, store
    store.close()


@pytest.mark.parametrize("name", BATCHED)
def test_an_alert_storms_batch_gives_each_job_its_own_rows(name: str, storm: tuple[Scenario, LogStore]) -> None:
    scenario, store = storm
    jobs = sorted(str(j["name"]) for j in scenario.jobs if str(j["name"]).startswith(STORM_JOB))
    assert len(jobs) == 12
    batch = rows(store, name, jobs, scenario, 24)
    with_rows = {str(r["JobName"]) for r in batch}
    assert with_rows in (set(), set(jobs)), "clones answer alike: all of them have rows or none"
    if name in ("failed_executions", "exit_codes"):
        assert with_rows == set(jobs), "each job of the storm failed"
    assert_batch_equals_alone(store, scenario, name, jobs)


def activity_params(job: Job, scenario: Scenario) -> dict[str, Any]:
    """What a triage asks config_changes for this job (bot.evidence.sources), over two weeks."""
    return {"resource_ids": [i.lower() for i in (job.ref.id, job.environment_id) if i],
            "related": [d for d in job.dependencies if not GUID.fullmatch(d)],
            "subscription_ids": [job.ref.subscription],
            "start": scenario.now - timedelta(days=14), "end": scenario.now}


GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


@pytest.mark.parametrize("path", bundled_scenarios(), ids=lambda p: Path(p).stem)
def test_each_jobs_activity_of_a_batch_equals_its_own_querys(path: Path,
                                                            stores: dict[str, tuple[Scenario, LogStore]]) -> None:
    """config_changes batches by merging its lists; each job's rows are picked back by activity_scope."""
    scenario, store = stores[path.stem]
    jobs = [parse_job(raw) for raw in scenario.jobs]
    asks = [activity_params(job, scenario) for job in jobs]
    merged = {**asks[0], **{name: sorted({v for a in asks for v in a[name]}) for name in
                            load_query("config_changes").list_params}}
    batch = QueryResult(answer(store, "config_changes", merged))
    cap = load_query("config_changes").row_cap
    assert cap is not None and len(batch.rows) < cap
    for job, ask in zip(jobs, asks, strict=True):
        alone = QueryResult(answer(store, "config_changes", ask))
        scope = (ask["resource_ids"], ask["related"], job.ref.subscription)
        assert rows_concerning(alone, *scope).rows == rows_concerning(batch, *scope).rows, job.ref.name
        assert len(rows_concerning(alone, *scope).rows) == len(alone.rows), "the pick is never looser than the query"
