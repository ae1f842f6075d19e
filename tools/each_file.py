"""Run every test file alone, with branch coverage appended across the runs (issue 19: order independence).

    python tools/each_file.py [--out DIR] [FILE ...]

Each `tests/**/test_*.py` runs in its own pytest process, in file order (`-p no:randomly`), so a test that
only passes because another file ran first fails here. Coverage of `bot/` is appended run after run, so the
closing report is the whole suite's as well. Prints, at the end, the files that failed alone and the combined
coverage (lines+branches, and branches alone). Exit 1 if any file failed alone.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_file(path: Path, log_dir: Path) -> tuple[int, float]:
    started = time.monotonic()
    log = log_dir / (str(path.relative_to(ROOT)).replace("/", "__") + ".log")
    with log.open("w") as out:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "--cov=bot", "--cov-branch",
             "--cov-append", "--cov-report=", "--cov-fail-under=0", str(path.relative_to(ROOT))],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, check=False)
    return done.returncode, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / ".each_file"), help="per-file logs and the coverage json")
    parser.add_argument("files", nargs="*", help="test files (default: every tests/**/test_*.py)")
    args = parser.parse_args()
    log_dir = Path(args.out)
    log_dir.mkdir(parents=True, exist_ok=True)
    files = [Path(f).resolve() for f in args.files] or sorted((ROOT / "tests").rglob("test_*.py"))

    subprocess.run([sys.executable, "-m", "coverage", "erase"], cwd=ROOT, check=True)
    failed: list[str] = []
    for path in files:
        code, seconds = run_file(path, log_dir)
        name = str(path.relative_to(ROOT))
        # The floor is the whole run's business, not one file's (--cov-fail-under=0 above).
        # 5 = no test collected: a file whose tests all vanish alone is a failure too.
        verdict = "ok" if code == 0 else f"FAILED (exit {code})"
        print(f"{verdict:<16} {seconds:6.1f}s  {name}", flush=True)
        if code != 0:
            failed.append(name)

    report = log_dir / "coverage.json"
    subprocess.run([sys.executable, "-m", "coverage", "combine", "--append", "-q"], cwd=ROOT, check=False)
    subprocess.run([sys.executable, "-m", "coverage", "json", "-q", "-o", str(report)], cwd=ROOT, check=True)
    totals = json.loads(report.read_text())["totals"]
    branches = 100.0 * totals["covered_branches"] / max(totals["num_branches"], 1)
    print(f"\nfailed alone: {len(failed)} of {len(files)}")
    for name in failed:
        print(f"  {name}  (log: {log_dir})")
    print(f"coverage: lines+branches {totals['percent_covered']:.1f} %, lines "
          f"{100.0 * totals['covered_lines'] / max(totals['num_statements'], 1):.1f} %, branches alone "
          f"{branches:.1f} % ({totals['covered_branches']}/{totals['num_branches']})")
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("JOBBOT_REQUIRE_NODE", "1")
    raise SystemExit(main())
