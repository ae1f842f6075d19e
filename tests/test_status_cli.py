"""`jobbot status` as a user runs it against the emulator serving a fleet, and the reads the board makes."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bot.azure.wiring import azure_readers
from bot.config import parse_config
from bot.scenario_mode import scenario_world
from bot.status.board import Health
from bot.status.service import status_board
from tests.support.fleet import UNREADABLE, fleet_world
from tests.test_entrypoints_cli import jobbot

CONFIG = "azure:\n  check_deadline_s: 30\n"


def test_the_board_lists_every_job_worst_first_with_the_unreadable_one_saying_why(tmp_path: Path) -> None:
    (tmp_path / "jobbot.yaml").write_text(CONFIG)
    done = jobbot("status", "--scenario", str(fleet_world(tmp_path)), "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    board = json.loads(done.stdout)
    assert board["scope"] == "all jobs"
    jobs = {j["job"]: j for j in board["jobs"]}
    assert len(jobs) == 7  # six clones of orders-processor and customer-notifier
    healths = [j["health"] for j in board["jobs"]]
    assert healths == sorted(healths, key=["failing", "degraded", "could-not-check", "healthy"].index)
    assert jobs["orders-processor"]["health"] == "failing"
    assert jobs["orders-processor"]["failures"] == 12 and jobs["orders-processor"]["executions"] == 14
    assert jobs["orders-processor"]["top_reason"].startswith("exit 137")
    assert jobs["orders-processor"]["queue"] == {"depth": 1520, "capacity": 50}
    assert jobs["orders-processor"]["last_change"]["by"] == "deployer@contoso.com"
    assert jobs["orders-processor"]["triage"] == "jobbot triage orders-processor"
    assert jobs[UNREADABLE]["health"] == "could-not-check" and jobs[UNREADABLE]["why"]
    assert jobs["customer-notifier"]["health"] == "healthy"
    assert board["jobs"][-1]["job"] == "customer-notifier"


def test_text_board_by_resource_group_names_the_command_to_triage_each_failing_job(tmp_path: Path) -> None:
    (tmp_path / "jobbot.yaml").write_text(CONFIG)
    world = str(fleet_world(tmp_path, jobs=3))
    done = jobbot("status", "RG-ORDERS", "--scenario", world, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    first, *rest = done.stdout.splitlines()
    assert first.startswith("jobbot status — resource group rg-orders, in the last hour: 3 jobs")
    assert "customer-notifier" not in done.stdout  # another resource group
    assert "                 → jobbot triage orders-processor-02" in rest
    by_environment = jobbot("status", "CAE-ORDERS-WEU", "--scenario", world, cwd=tmp_path)
    assert by_environment.stdout.startswith("jobbot status — environment cae-orders-weu, in the last hour: 4 jobs")


def test_an_unknown_environment_gets_not_found_with_suggestions_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "jobbot.yaml").write_text(CONFIG)
    done = jobbot("status", "cae-ordrs-weu", "--scenario", str(fleet_world(tmp_path, jobs=2)), cwd=tmp_path)
    assert done.returncode == 3
    assert "cae-ordrs-weu" in done.stderr and "cae-orders-weu" in done.stderr
    assert "Traceback" not in done.stderr
    bad = jobbot("status", "rg/../x", "--scenario", str(fleet_world(tmp_path, jobs=2)), cwd=tmp_path)
    assert bad.returncode == 2 and "not an environment or resource group name" in bad.stderr


def test_the_log_analytics_and_resource_graph_queries_go_once_per_kind_not_once_per_job(tmp_path: Path) -> None:
    config = parse_config({"azure": {"check_deadline_s": 30}})
    with scenario_world(fleet_world(tmp_path, jobs=8), config) as world:
        async def run() -> list[str]:
            async with azure_readers(world.credential, world.endpoints, world.config) as readers:
                board = await status_board(None, timedelta(hours=1), readers, world.clock, world.config)
            return [r.job for r in board.rows if r.health is Health.FAILING]

        failing = asyncio.run(run())
        requests = list(world.emulator.requests)
    assert len(failing) == 7  # every clone but the unreadable one
    queries = [r for r in requests if r.target == "logs"]
    # A lone triage makes one query per kind; nine jobs together make no more.
    assert 0 < len(queries) <= 6, Counter(r.path for r in queries)
    # Resource Graph's quota is about 15 queries per 5 s: every job's change history goes in one query.
    graph = [r for r in requests if "microsoft.resourcegraph" in r.path.lower()]
    assert 0 < len(graph) <= 2, len(graph)  # the change history, and the workspace located for links
    assert [(r.method, r.path) for r in requests if not r.allowed] == []


def test_the_board_reads_each_environment_once_and_never_looks_a_listed_job_up_again(tmp_path: Path) -> None:
    """The listing already holds every job: the board triages those copies (one GET of a job's own resource, for
    its change history, not two), and the environment's log setup is read once for all its jobs."""
    config = parse_config({"azure": {"check_deadline_s": 30}})
    with scenario_world(fleet_world(tmp_path, jobs=8), config) as world:
        async def run() -> int:
            async with azure_readers(world.credential, world.endpoints, world.config) as readers:
                board = await status_board(None, timedelta(hours=1), readers, world.clock, world.config)
            return len(board.rows)

        rows = asyncio.run(run())
        gets = Counter(r.path.lower() for r in world.emulator.requests if r.method == "GET")
    jobs = [p for p in gets if p.count("/providers/microsoft.app/jobs/") == 1 and p.rsplit("/", 2)[-2] == "jobs"]
    assert len(jobs) == rows >= 9
    assert all(gets[p] == 1 for p in jobs), {p: n for p, n in gets.items() if p in jobs and n > 1}
    environments = [p for p in gets if "/managedenvironments/" in p and p.count("/") == 8]
    assert environments and all(gets[p] == 1 for p in environments), gets
