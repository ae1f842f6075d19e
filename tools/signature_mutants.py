#!/usr/bin/env python3
"""Drop each alternative of bot/evidence/signatures.py PATTERNS in turn (and IGNORECASE, and the kinds' order)
and run the signature table (tests/test_signatures_table.py) against each mutant; print the kill count.

Usage: python tools/signature_mutants.py [-v]
A mutant is killed when at least one row of the table is classified differently. Every survivor is a
pattern no tested text needs: either add the text a runtime prints that only it catches, or remove it.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_signatures_table import mutants, table_failures  # noqa: E402


def main(argv: list[str]) -> int:
    verbose = "-v" in argv
    results = [(name, table_failures(classifier)) for name, classifier in mutants()]
    killed = sum(1 for _, failures in results if failures)
    for name, failures in results:
        if verbose or not failures:
            print(f"{'killed' if failures else 'SURVIVED'} ({failures} rows): {name}")
    print(f"signature mutants killed: {killed} of {len(results)}")
    return 0 if killed == len(results) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
