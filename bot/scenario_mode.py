"""Scenario mode: the real SDK clients pointed at the local Azure emulator, on the scenario's clock.

Imported only when a scenario is asked for, so production never loads the emulator or its KQL engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.azure.credentials import StaticTokenCredential
from bot.azure.endpoints import Endpoints
from bot.clock import FixedClock
from bot.config import Config


@dataclass(frozen=True, slots=True)
class ScenarioWorld:
    endpoints: Endpoints
    clock: FixedClock
    config: Config
    credential: StaticTokenCredential
    scenario: Any  # bot.emulator.scenario.Scenario
    emulator: Any  # bot.emulator.server.Emulator: its request record proves what the bot called


@contextmanager
def scenario_world(path: str | Path, config: Config | None = None) -> Iterator[ScenarioWorld]:
    """Start the emulator for `path` on loopback and yield what the bot needs to talk to it."""
    from bot.emulator.scenario import load_scenario
    from bot.emulator.server import Emulator

    scenario = load_scenario(path)
    with Emulator(scenario) as emulator:
        endpoints = Endpoints(arm=emulator.url, logs=emulator.url, queue_account=emulator.url + "/{account}",
                              ca_file=emulator.ca_file)
        base = config or Config()
        world_config = replace(base, subscriptions=(scenario.subscription,), workspace_id=None)
        yield ScenarioWorld(endpoints, FixedClock(scenario.now), world_config, StaticTokenCredential(), scenario,
                            emulator)
