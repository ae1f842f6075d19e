"""`jobbot status` on the registry-rotation fleet (31 jobs, two environments): the 13 failing jobs first,
worst first, then the 18 healthy ones — as a user runs it in a terminal against the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.fixtures.alerts.registry_rotation import BROKEN, HEALTHY, UNRELATED, registry_rotation_world
from tests.test_entrypoints_cli import jobbot


def test_the_board_puts_the_thirteen_failing_jobs_first_worst_first_and_the_healthy_after(tmp_path: Path) -> None:
    world = registry_rotation_world(tmp_path)
    (tmp_path / "jobbot.yaml").write_text(yaml.safe_dump(world.config))
    done = jobbot("status", "--scenario", str(world.scenario), "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    board = json.loads(done.stdout)
    assert board["counts"] == {"failing": 13, "degraded": 0, "could-not-check": 0, "healthy": 18}
    rows = board["jobs"]
    failing, healthy = rows[:13], rows[13:]
    assert {r["job"] for r in failing} == {*BROKEN, UNRELATED} and all(r["health"] == "failing" for r in failing)
    assert {r["job"] for r in healthy} == set(HEALTHY) and all(r["health"] == "healthy" for r in healthy)
    # Worst first: every run of the 12 broken jobs failed; invoices-sync failed 4 of its 7.
    assert [r["job"] for r in failing] == [*BROKEN, UNRELATED]
    assert all(r["cause"] == "image-pull" and r["failures"] == r["executions"] == 4 for r in failing[:12])
    assert failing[12]["cause"] == "app-error" and failing[12]["failures"] < failing[12]["executions"]


def test_the_other_environment_alone_shows_its_one_failing_job_first(tmp_path: Path) -> None:
    world = registry_rotation_world(tmp_path)
    (tmp_path / "jobbot.yaml").write_text(yaml.safe_dump(world.config))
    done = jobbot("status", "cae-batch-cus", "--scenario", str(world.scenario), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    first, *rest = done.stdout.splitlines()
    assert first.startswith("jobbot status — environment cae-batch-cus, in the last hour: 11 jobs")
    assert UNRELATED in rest[0] and not any("reports-" in line for line in rest)
