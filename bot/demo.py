"""`jobbot demo`: every bundled scenario, triaged end to end through the local emulator."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.assets import bundled_scenarios
from bot.config import Config
from bot.intake import parse_job, parse_since
from bot.model import TriageReport
from bot.respond.text import render_text
from bot.runtime import triage_once
from bot.slack.blocks import render_blocks
from bot.slack.preview import preview


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
        report = triage_once(parse_job(job), parse_since("1h"), Config(), scenario=path)
        verdict = report.verdict
        expected = expect.get("cause")
        ok = expected is None or expected == verdict.cause.value
        matched += ok
        mark = "ok " if ok else "!! "
        print(f"{mark}{scenario.name:<38} {job:<26} -> {verdict.cause.value} ({verdict.confidence.value})"
              + ("" if ok else f"  [expected {expected}]"))
        if scenario.name == show_full or (only and len(paths) == 1):
            shown = report
    if shown is not None:
        _show(shown)
    print(f"\n{matched} of {len(paths)} scenarios concluded as expected.")
    return 0 if matched == len(paths) else 1


def _show(report: TriageReport) -> None:
    print(f"\n--- {report.job.name}: the terminal report (jobbot triage) ---\n")
    print(render_text(report))
    message = render_blocks(report)
    print(f"--- {report.job.name}: what the channel sees in Slack ({len(message.blocks)} blocks; "
          "`--format blocks` prints the Block Kit JSON) ---")
    print(preview(message.blocks))
