"""What a responder is told, pinned: every bundled and blind scenario's JSON report, Slack message and
terminal text must equal the reviewed golden copy in tests/golden/.

A change that alters any of them fails here with the diff; if the change is meant, regenerate with
`python -m tests.golden.regenerate [NAME ...]` and review the diff like any other code.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from tests.golden.regenerate import HERE, golden_name, render_all, scenario_paths

PATHS = scenario_paths()


def test_every_scenario_has_a_golden_copy() -> None:
    missing = [golden_name(p) for p in PATHS if not (HERE / f"{golden_name(p)}.json").exists()]
    assert missing == []


@pytest.mark.parametrize("path", PATHS, ids=[golden_name(p) for p in PATHS])
def test_report_matches_its_golden_copy(path: Path) -> None:
    rendered = render_all(path)
    for suffix, text in rendered.items():
        golden = (HERE / f"{golden_name(path)}.{suffix}").read_text(encoding="utf-8")
        if text != golden:
            diff = "\n".join(difflib.unified_diff(golden.splitlines(), text.splitlines(), "golden", "now",
                                                  lineterm="", n=2))
            pytest.fail(f"{golden_name(path)}.{suffix} differs from its golden copy:\n{diff[:6000]}")
