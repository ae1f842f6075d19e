"""`jobbot demo`: every bundled scenario, triaged end to end through the local emulator (review scenarios are
reviewed too, their pillar scores checked)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.assets import bundled_scenarios
from bot.config import Config
from bot.intake import parse_job, parse_since
from bot.model import TriageReport
from bot.respond.text import render_text
from bot.runtime import review_once, triage_once
from bot.slack.blocks import render_blocks
from bot.slack.preview import preview

# The demo is judged on its verdicts: every read is local (the emulator on loopback), and no bundled scenario
# hangs an upstream on purpose, so a check is given time on a slow or busy laptop instead of the 4 s meant for
# Azure, past which it would be reported as an error and the verdict (or a review score) would change.
DEMO_CONFIG = replace(Config(), check_deadline_s=30.0)


def run_demo(only: Sequence[str] | None = None, *, show_full: str = "oom-after-image-change") -> int:
    from bot.emulator.scenario import Expect, load_scenario

    paths = [Path(p) for p in only] if only else bundled_scenarios()
    matched = 0
    shown: TriageReport | None = None
    print(f"jobbot demo: {len(paths)} scenarios, each served by the local Azure emulator on 127.0.0.1\n")
    for path in paths:
        scenario = load_scenario(path)
        expect = scenario.expect or Expect()
        job = expect.get("job") or scenario.jobs[0]["name"]
        report = triage_once(parse_job(job), parse_since("1h"), DEMO_CONFIG, scenario=path)
        verdict = report.verdict
        expected = expect.get("cause")
        ok = expected is None or expected == verdict.cause.value
        review_line, review_ok = _review(path, job, expect.get("review"))
        matched += ok and review_ok
        mark = "ok " if ok and review_ok else "!! "
        print(f"{mark}{scenario.name:<38} {job:<26} -> {verdict.cause.value} ({verdict.confidence.value})"
              + ("" if ok else f"  [expected {expected}]"))
        if review_line:
            print(review_line)
        if scenario.name == show_full or (only and len(paths) == 1):
            shown = report
    if shown is not None:
        _show(shown)
    print(f"\n{matched} of {len(paths)} scenarios concluded as expected.")
    return 0 if matched == len(paths) else 1


def _review(path: Path, job: str, expected: Any) -> tuple[str, bool]:
    """A review scenario is also reviewed (7 d): its pillar scores against `expect.review.scores`."""
    if expected is None:
        return "", True
    from bot.review.service import DEFAULT_WINDOW

    report = review_once(parse_job(job), DEFAULT_WINDOW, DEMO_CONFIG, scenario=path)
    got = {p.value: s.score for p, s in report.scores.items()}
    wanted = dict(expected.get("scores") or {})
    ok = all(got.get(p) == v for p, v in wanted.items())
    scores = " · ".join(f"{p} {'n/a' if v is None else v}" for p, v in got.items())
    return f"     review: {scores}" + ("" if ok else f"  [expected {wanted}]"), ok


def _show(report: TriageReport) -> None:
    print(f"\n--- {report.job.name}: the terminal report (jobbot triage) ---\n")
    print(render_text(report))
    message = render_blocks(report)
    print(f"--- {report.job.name}: what the channel sees in Slack ({len(message.blocks)} blocks; "
          "`--format blocks` prints the Block Kit JSON) ---")
    print(preview(message.blocks))
