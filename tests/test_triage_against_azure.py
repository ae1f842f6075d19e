"""`jobbot triage` without a scenario: the path production takes (DefaultAzureCredential, Azure's own
endpoints, the real clock). Tests never construct DefaultAzureCredential nor leave loopback, so the
credential, the endpoints and the clock are swapped for the local emulator's at the composition root;
what is under test is how the subscriptions to search are chosen, and the refusal when there are none."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot import runtime
from bot.azure import credentials
from bot.cli import main
from bot.config import Config
from bot.intake import parse_job
from bot.runtime import triage_once
from bot.scenario_mode import ScenarioWorld, scenario_world

HEALTHY = Path(__file__).resolve().parent.parent / "scenarios" / "healthy.yaml"
SUBSCRIPTION = "3f9c2a71-5d4e-4b8a-9c61-0e2f7a8b1c34"
JOB_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-billing/providers/Microsoft.App/jobs/invoice-renderer"


@pytest.fixture()
def azure(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScenarioWorld]:
    """The emulator standing in for Azure on the production path."""
    with scenario_world(HEALTHY) as world:
        monkeypatch.setattr(credentials, "production_credential", lambda: world.credential)
        monkeypatch.setattr(runtime, "Endpoints", lambda: world.endpoints)
        monkeypatch.setattr(runtime, "SystemClock", lambda: world.clock)
        world.emulator.clear_requests()
        yield world


# Judged on which subscriptions are searched, not on speed: the default 4 s per check runs out on a loaded
# machine, and a check that times out leaves the evidence incomplete.
DEADLINE_S = 60.0


def subscriptions_searched(world: ScenarioWorld) -> set[str]:
    return {r.path.split("/")[2] for r in world.emulator.requests if r.path.startswith("/subscriptions/")}


def test_a_full_arm_id_needs_no_configured_subscription(azure: ScenarioWorld) -> None:
    report = triage_once(parse_job(JOB_ID), timedelta(hours=1), Config(check_deadline_s=DEADLINE_S), scenario=None)
    assert report.job.name == "invoice-renderer"
    assert report.evidence_complete
    assert subscriptions_searched(azure) == {SUBSCRIPTION}


def test_a_job_name_is_looked_up_in_the_configured_subscriptions(azure: ScenarioWorld) -> None:
    config = Config(subscriptions=(SUBSCRIPTION,), check_deadline_s=DEADLINE_S)
    report = triage_once(parse_job("invoice-renderer"), timedelta(hours=1), config, scenario=None)
    assert report.job.name == "invoice-renderer" and report.evidence_complete
    assert subscriptions_searched(azure) == {SUBSCRIPTION}


def test_a_job_name_with_no_subscription_configured_is_refused_before_any_call(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def never() -> object:
        raise AssertionError("no credential is built when nothing can be searched")

    monkeypatch.setattr(credentials, "production_credential", never)
    monkeypatch.delenv("JOBBOT_CONFIG", raising=False)
    monkeypatch.delenv("JOBBOT_SCENARIO", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./jobbot.yaml
    assert main(["triage", "invoice-renderer"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "jobbot: invalid configuration:",
        "  - azure.subscriptions: needed to look up jobs by name (or pass a full ARM id)",
    ]
