"""Mutation score of the modules that decide what a responder is told (mutmut, configured in pyproject.toml).

    python tools/mutation_score.py [--max-children N] [--seed S --sample N]

Runs every mutant (or a seeded random sample of them) against the tests named in `[tool.mutmut]` and prints,
per module, how many were killed. Surviving mutants are listed so each can be judged: a missing test, or an
equivalent mutant (say why in the change that keeps it).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"


def mutmut(*args: str) -> str:
    # mutmut copies the package into mutants/; the tests must import that copy, not the editable install, so
    # mutants/ goes first on the path (created before Python starts, or the import system caches its absence).
    env = {**os.environ, "PYTHONPATH": str(MUTANTS)}
    done = subprocess.run([sys.executable, "-m", "mutmut", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        raise SystemExit(f"mutmut {args[0]} failed ({done.returncode})")
    return done.stdout


def results() -> dict[str, str]:
    """mutant name -> status (killed, survived, no tests, timeout …)."""
    found = {}
    for line in mutmut("results", "--all", "true").splitlines():
        name, sep, status = line.strip().partition(":")
        if sep and "__mutmut_" in name:
            found[name.strip()] = status.strip()
    return found


def module_of(mutant: str) -> str:
    return re.sub(r"\.x[_ǁ].*$|\.x_[^.]*__mutmut_\d+$", "", mutant).rsplit(".x_", 1)[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-children", default="2")
    parser.add_argument("--sample", type=int, default=0, help="run only this many mutants (0: all)")
    parser.add_argument("--seed", type=int, default=20261205)
    args = parser.parse_args()

    shutil.rmtree(MUTANTS, ignore_errors=True)
    MUTANTS.mkdir()
    mutmut("run", "--max-children", args.max_children)  # generates every mutant and runs them
    statuses = results()
    if args.sample:
        chosen = sorted(random.Random(args.seed).sample(sorted(statuses), min(args.sample, len(statuses))))
        statuses = {name: statuses[name] for name in chosen}
    per_module: dict[str, Counter[str]] = {}
    for name, status in statuses.items():
        per_module.setdefault(module_of(name), Counter())[status] += 1
    print(f"{'module':<32} {'killed':>7} {'survived':>9} {'no tests':>9} {'score':>7}")
    for module, counts in sorted(per_module.items()):
        tested = sum(n for s, n in counts.items() if s != "no tests")
        score = counts["killed"] / tested if tested else 0.0
        print(f"{module:<32} {counts['killed']:>7} {counts['survived']:>9} {counts['no tests']:>9} {score:>7.1%}")
    survivors = sorted(n for n, s in statuses.items() if s == "survived")
    if survivors:
        print("\nsurvivors (`mutmut show NAME` prints each):")
        print("\n".join(f"  {n}" for n in survivors))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
