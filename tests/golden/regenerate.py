"""Regenerate the golden reports: `python -m tests.golden.regenerate` (then review the diff).

Each scenario's triage is stored three ways — the JSON report, the Slack message and the terminal text —
so any change to what a responder is told shows up as a diff someone has to read and accept.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from bot.config import Config
from bot.intake import parse_job
from bot.respond.report_json import report_to_dict
from bot.respond.text import render_text
from bot.review.findings import ReviewReport
from bot.runtime import triage_with
from bot.scenario_mode import ScenarioWorld, scenario_world
from bot.slack.blocks import render_blocks

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
# Verdicts, not speed: a generous deadline so a loaded machine never turns a slow read into an error.
CONFIG = replace(Config(), check_deadline_s=30.0)


def scenario_paths() -> list[Path]:
    bundled = sorted((ROOT / "scenarios").glob("*.yaml"))
    blind = sorted((ROOT / "tests" / "fixtures" / "blind").glob("*.yaml"))
    return bundled + blind


def golden_name(path: Path) -> str:
    return ("blind-" if path.parent.name == "blind" else "") + path.stem


def render_all(path: Path) -> dict[str, str]:
    with scenario_world(path, CONFIG) as world:
        job = world.scenario.expect["job"]
        report = asyncio.run(triage_with(parse_job(job), timedelta(hours=1), world.config, world.endpoints,
                                         world.credential, world.clock))
        reviewed = _review(world) if world.scenario.expect.get("review") is not None else {}
    message = render_blocks(report)
    return {
        "json": json.dumps(report_to_dict(report), indent=2) + "\n",
        "blocks.json": json.dumps({"text": message.text, "blocks": message.blocks}, indent=2) + "\n",
        "txt": render_text(report),
        **reviewed,
    }


def _review(world: ScenarioWorld) -> dict[str, str]:
    """A review scenario's `jobbot review` (7 d): its JSON and terminal text are pinned too."""
    from bot.azure.wiring import azure_readers
    from bot.review.render import render_review_text
    from bot.review.report_json import review_to_dict
    from bot.review.service import review

    async def run() -> ReviewReport:
        async with azure_readers(world.credential, world.endpoints, world.config) as readers:
            return await review(parse_job(world.scenario.expect["job"]), timedelta(days=7), readers, world.clock,
                                world.config)

    report = asyncio.run(run())
    return {"review.json": json.dumps(review_to_dict(report), indent=2) + "\n",
            "review.txt": render_review_text(report)}


def main(argv: list[str]) -> int:
    chosen = [p for p in scenario_paths() if not argv or golden_name(p) in argv]
    for path in chosen:
        for suffix, text in render_all(path).items():
            (HERE / f"{golden_name(path)}.{suffix}").write_text(text, encoding="utf-8")
        print(f"wrote {golden_name(path)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
