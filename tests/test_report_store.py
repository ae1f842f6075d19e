"""Alert threads keep their triage report as data and render it when they post: the stored report must come
back as the same typed report, so today's renderer shows exactly what a fresh triage would."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import Config
from bot.intake import parse_job
from bot.respond.report_json import report_to_dict
from bot.respond.report_store import report_from_store, report_to_store
from bot.runtime import triage_with
from bot.scenario_mode import scenario_world
from bot.slack.blocks import render_blocks

ROOT = Path(__file__).resolve().parent.parent
# One of each evidence shape that matters: image change, role assignment, scaler errors, partial answers.
SCENARIOS = ["oom-after-image-change", "identity", "scaler-failure", "fault-logs-500", "saturation", "platform"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_stored_report_comes_back_the_same_and_renders_the_same(name: str) -> None:
    with scenario_world(ROOT / "scenarios" / f"{name}.yaml", replace(Config(), check_deadline_s=30.0)) as world:
        report = asyncio.run(triage_with(parse_job(world.scenario.expect["job"]), timedelta(hours=1), world.config,
                                         world.endpoints, world.credential, world.clock))
    stored = json.loads(json.dumps(report_to_store(report)))  # as the store's JSON column holds it
    back = report_from_store(stored)
    assert back == report
    assert report_to_dict(back) == report_to_dict(report)
    assert render_blocks(back).blocks == render_blocks(report).blocks


def test_a_stored_report_names_each_evidence_kind() -> None:
    with scenario_world(ROOT / "scenarios" / "scaler-failure.yaml", replace(Config(), check_deadline_s=30.0)) as world:
        report = asyncio.run(triage_with(parse_job(world.scenario.expect["job"]), timedelta(hours=1), world.config,
                                         world.endpoints, world.credential, world.clock))
    kinds = {c.name: (e or {}).get("kind") for c, e in zip(report.checks, report_to_store(report)["evidence"],
                                                         strict=True)}
    assert kinds["scaler"] == "ScalerEvidence" and kinds["identity"] == "IdentityEvidence"
