"""The next step a responder is told first: undo the suspected change when jobbot can say how, else the
runbook's first step that acts."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from bot.intake import parse_job
from bot.respond.next_step import next_step
from bot.runtime import triage_with
from bot.scenario_mode import scenario_world

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def triaged(name: str):  # type: ignore[no-untyped-def]
    with scenario_world(SCENARIOS / f"{name}.yaml") as world:
        return asyncio.run(triage_with(parse_job(world.scenario.expect["job"]), timedelta(hours=1), world.config,
                                       world.endpoints, world.credential, world.clock))


@pytest.mark.parametrize(("scenario", "starts", "command"), [
    ("oom-after-image-change", "Undo the suspected change: roll back to contoso.azurecr.io/orders:1.4.2", None),
    ("change-replica-timeout-cut", "Undo the suspected change:", "--replica-timeout 1800"),
    ("platform", "Read the Service Health event", None),
])
def test_the_next_step_undoes_the_change_or_acts_from_the_runbook(scenario: str, starts: str,
                                                                  command: str | None) -> None:
    step = next_step(triaged(scenario))
    assert step is not None and step.text.startswith(starts)
    if command is None:
        assert step.command is None
    else:
        assert step.command is not None and command in step.command and step.command.startswith("az ")
