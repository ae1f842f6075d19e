"""Fail when branch coverage alone is under its floor (issue 19 asks for branches, not lines+branches).

    python -m coverage json -q -o coverage.json && python tools/branch_floor.py [coverage.json]

coverage.py's own `fail_under` judges lines and branches together, where well-covered lines hide untested
branches; this reads the totals of `coverage json` and judges the branches alone against
`[tool.jobbot.coverage] branch_floor` in pyproject.toml. Prints one line either way.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def branch_floor(pyproject: Path) -> float:
    settings = tomllib.loads(pyproject.read_text())
    return float(settings["tool"]["jobbot"]["coverage"]["branch_floor"])


def check(report: Path, floor: float) -> tuple[bool, str]:
    """(passed, the line to print) for the `coverage json` report at `report`."""
    totals = json.loads(report.read_text())["totals"]
    branches, covered = int(totals["num_branches"]), int(totals["covered_branches"])
    if branches == 0:
        return False, f"branches: none measured in {report} (was coverage run with --cov-branch?)"
    percent = 100.0 * covered / branches
    # Compare what is printed: 89.96 shows as "90.0" and must not fail a floor of 90 it appears to meet.
    line = f"branches {percent:.1f} % ({covered}/{branches}, floor {floor:g})"
    if round(percent, 1) < floor:
        return False, f"{line}: under the floor; add tests for the missing branches (coverage json lists them)"
    return True, line


def main(argv: list[str]) -> int:
    report = Path(argv[0]) if argv else ROOT / "coverage.json"
    passed, line = check(report, branch_floor(ROOT / "pyproject.toml"))
    print(line)
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
