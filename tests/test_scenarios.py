"""Every bundled scenario, end to end: CLI -> real SDK clients -> local emulator -> the expected verdict,
with nothing but the allowed reads reaching 'Azure'."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest

from bot.assets import bundled_scenarios
from bot.cli import main
from bot.emulator.scenario import load_scenario
from bot.intake import parse_job
from bot.runtime import triage_with
from bot.scenario_mode import scenario_world

SCENARIOS = bundled_scenarios()
# Worlds written without reading the verdict code, by another team's hand: the verdicts must generalise.
BLIND = sorted((Path(__file__).parent / "fixtures" / "blind").glob("*.yaml"))
CORE_CHECKS = {"failures", "retries", "exit_codes", "queue_depth", "config_changes"}


@pytest.fixture(autouse=True)
def generous_deadline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests judge verdicts, not speed: a loaded CI machine must not turn slow reads into errors
    (deadlines have their own tests in test_faults.py and numbers in bench/)."""
    config = tmp_path / "jobbot.yaml"
    config.write_text("azure:\n  check_deadline_s: 30\n")
    monkeypatch.setenv("JOBBOT_CONFIG", str(config))


def test_every_verdict_cause_is_covered_by_a_bundled_scenario() -> None:
    from bot.model import Cause

    causes = {load_scenario(p).expect["cause"] for p in SCENARIOS}
    assert causes >= {c.value for c in Cause}


# What every scenario must state about its triage: the contract a responder relies on.
CONTRACT = ("job", "cause", "confidence", "suspected_change", "rollback_image", "evidence_complete", "checks")


@pytest.mark.parametrize("path", SCENARIOS + BLIND, ids=[p.stem for p in SCENARIOS + BLIND])
def test_scenario_states_the_whole_contract(path: Path) -> None:
    expect = load_scenario(path).expect
    missing = [key for key in CONTRACT if key not in expect]
    assert missing == [], f"{path.name}: expect must state {missing}"
    assert set(expect["checks"]) >= CORE_CHECKS, "every core check's status is expected"


@pytest.mark.parametrize("path", SCENARIOS + BLIND, ids=[p.stem for p in SCENARIOS + BLIND])
def test_triage_json_concludes_what_the_scenario_expects(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expect = load_scenario(path).expect
    assert main(["triage", expect["job"], "--scenario", str(path), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    verdict = report["verdict"]
    assert report["job"]["name"].lower() == expect["job"].lower()
    assert (verdict["cause"], verdict["confidence"]) == (expect["cause"], expect["confidence"]), verdict["summary"]
    assert (verdict["suspected_change"] is not None) == expect["suspected_change"]
    rollback = verdict["rollback_candidate"]
    assert (rollback["image"] if rollback else None) == expect["rollback_image"]
    assert report["evidence_complete"] == expect["evidence_complete"]
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert {name: statuses.get(name) for name in expect["checks"]} == dict(expect["checks"])
    assert set(statuses) >= CORE_CHECKS


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_triage_makes_only_the_allowed_azure_reads(path: Path) -> None:
    with scenario_world(path) as world:
        expect = world.scenario.expect
        asyncio.run(triage_with(parse_job(expect["job"]), timedelta(hours=1), world.config, world.endpoints,
                                world.credential, world.clock))
        requests = list(world.emulator.requests)
    assert requests, "the triage reached the emulator"
    refused = [(r.method, r.path) for r in requests if not r.allowed]
    assert refused == []
    writes = [(r.method, r.path) for r in requests if r.method not in {"GET", "POST"}]
    assert writes == []
    # The only POSTs are the two query APIs, both reads: Log Analytics and Resource Graph.
    posts = {r.path for r in requests if r.method == "POST"}
    assert all((p.startswith("/v1/workspaces/") and p.endswith("/query"))
               or p.lower() == "/providers/microsoft.resourcegraph/resources" for p in posts), posts
    assert not any("listsecrets" in r.path.lower() for r in requests)
