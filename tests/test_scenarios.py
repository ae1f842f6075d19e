"""Every bundled scenario, end to end: CLI -> real SDK clients -> local emulator -> the expected verdict,
with nothing but the allowed reads reaching 'Azure'."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.assets import bundled_scenarios
from bot.azure.permissions import ARM_READS, action_for
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


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_a_bundled_scenario_with_a_suspected_change_says_which(path: Path) -> None:
    """What changed, before → after and who: the part of the verdict an on-call engineer acts on."""
    expect = load_scenario(path).expect
    if expect["suspected_change"]:
        change = expect.get("change")
        assert change is not None and {"what", "caller", "caller_kind", "source"} <= set(change.keys()), \
            f"{path.name}: expect.change must name what changed, who and from which source"


# Scenarios whose expected verdict waits for a fix outside the change modules (the lead's files): strict, so
# the fix turns them green and its entry here must go.
CONCLUDES = [pytest.param(p, id=p.stem) for p in SCENARIOS + BLIND]


@pytest.mark.parametrize("path", CONCLUDES)
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
    if "change" in expect:
        assert_change_matches(expect["change"], verdict["suspected_change"])


# The fields of `expect.change`, compared with `verdict.suspected_change` (what an on-call engineer reads).
CHANGE_FIELDS = ("what", "path", "before", "after", "caller", "caller_kind", "source", "resource", "access")


def assert_change_matches(expected: Any, suspected: dict[str, Any] | None) -> None:
    """`what` exactly; path/before/after one of the suspected change's `changes[]`; caller, caller_kind,
    source as given; `resource` as given (absent means the job itself, reported as null)."""
    given = set(expected.keys())
    unknown = given - set(CHANGE_FIELDS)
    assert unknown == set(), f"expect.change has unknown fields {sorted(unknown)}"
    assert suspected is not None, "expect.change names a change but the verdict has no suspected change"
    for name in ("what", "caller", "caller_kind", "source"):
        if name in expected:
            assert suspected[name] == expected[name], f"suspected_change.{name}"
    if "access" in expected:  # a deleted role assignment read against the identity's roles now
        assert (suspected.get("access_now") or {}).get("status") == expected["access"], "suspected_change.access_now"
    resource = suspected["resource"]
    want = expected.get("resource")
    assert (resource.lower() if isinstance(resource, str) else resource) == \
        (want.lower() if isinstance(want, str) else want), "suspected_change.resource"
    if {"path", "before", "after"} & given:
        changes = suspected["changes"]
        assert isinstance(changes, list)
        wanted = {k: expected[k] for k in ("path", "before", "after") if k in expected}
        assert any(all(c.get(k) == v for k, v in wanted.items()) for c in changes), \
            f"no change {wanted} in {changes}"


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
    # The deploy script's custom role grants exactly ARM_READS: every request is one of them.
    needed = {action_for(r.method, r.path) for r in requests} - {None}
    assert needed <= set(ARM_READS), f"reads the bot's role does not grant: {sorted(needed - set(ARM_READS))}"
