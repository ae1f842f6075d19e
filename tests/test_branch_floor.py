"""CI fails when branch coverage alone is under the floor pyproject.toml sets, and says so in one line."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "branch_floor.py"


def floor_in_pyproject() -> float:
    return float(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["jobbot"]["coverage"]["branch_floor"])


def coverage_json(tmp: Path, covered: int, branches: int) -> Path:
    # The shape `coverage json` writes; lines are nearly all covered, so lines+branches would pass anyway.
    totals = {"covered_lines": 990, "num_statements": 1000, "percent_covered": 97.0,
              "covered_branches": covered, "num_branches": branches, "missing_branches": branches - covered}
    path = tmp / "coverage.json"
    path.write_text(json.dumps({"meta": {"branch_coverage": True}, "files": {}, "totals": totals}))
    return path


def run(report: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), str(report)], capture_output=True, text=True, check=False)


def test_the_floor_is_at_least_what_issue_19_asks() -> None:
    assert floor_in_pyproject() >= 90


def test_branches_under_the_floor_fail_ci_with_the_figure_and_the_floor(tmp_path: Path) -> None:
    floor = floor_in_pyproject()
    done = run(coverage_json(tmp_path, covered=871, branches=1000))
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"branches 87.1 % (871/1000, floor {floor:g}): under the floor; add tests for the missing branches "
        "(coverage json lists them)"]


def test_branches_over_the_floor_pass_and_print_the_figure(tmp_path: Path) -> None:
    done = run(coverage_json(tmp_path, covered=955, branches=1000))
    assert done.returncode == 0
    assert done.stdout.strip() == f"branches 95.5 % (955/1000, floor {floor_in_pyproject():g})"


def test_a_figure_one_branch_short_of_the_floor_fails(tmp_path: Path) -> None:
    floor = floor_in_pyproject()
    branches = 10_000
    exactly = int(floor * branches / 100)
    assert run(coverage_json(tmp_path, covered=exactly, branches=branches)).returncode == 0
    assert run(coverage_json(tmp_path, covered=exactly - 10, branches=branches)).returncode == 1


def test_a_report_without_branches_fails_instead_of_passing_vacuously(tmp_path: Path) -> None:
    done = run(coverage_json(tmp_path, covered=0, branches=0))
    assert done.returncode == 1
    assert "none measured" in done.stdout and "--cov-branch" in done.stdout
