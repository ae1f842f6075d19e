"""Scenario mode: the real SDK clients pointed at the local Azure emulator, on the scenario's clock.

Imported only when a scenario is asked for, so production never loads the emulator or its KQL engine.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.azure.credentials import StaticTokenCredential
from bot.azure.endpoints import Endpoints
from bot.clock import FixedClock
from bot.config import Config

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ScenarioWorld:
    endpoints: Endpoints
    clock: FixedClock
    config: Config
    credential: StaticTokenCredential
    scenario: Any  # bot.emulator.scenario.Scenario
    emulator: Any  # bot.emulator.server.Emulator: its request record proves what the bot called


@contextmanager
def scenario_world(
    path: str | Path, config: Config | None = None, *, shuffle: int | None = None
) -> Iterator[ScenarioWorld]:
    """Start the emulator for `path` on loopback and yield what the bot needs to talk to it.

    `shuffle=SEED` serves rows and lists in a seeded order; without it, JOBBOT_EMULATOR_SHUFFLE=1
    (seed from JOBBOT_EMULATOR_SHUFFLE_SEED, else a fresh one) does the same for any command.
    """
    from bot.extras import require_demo_extra

    require_demo_extra()  # one line naming `jobbot[demo]`, not an ImportError from deep inside
    from bot.emulator.scenario import load_scenario
    from bot.emulator.server import Emulator
    from bot.emulator.shuffle import shuffle_from_env

    if shuffle is None:
        from_env = shuffle_from_env()
        shuffle = from_env.seed if from_env else None
        if from_env is not None:
            # A warning so it reaches stderr without logging set up: the seed is what replays a failure.
            log.warning("emulator: shuffling rows and lists with seed %d", from_env.seed)
    scenario = load_scenario(path)
    with Emulator(scenario, shuffle=shuffle) as emulator:
        endpoints = Endpoints(arm=emulator.url, logs=emulator.url, queue_account=emulator.url + "/{account}",
                              ca_file=emulator.ca_file)
        base = config or Config()
        world_config = replace(base, subscriptions=(scenario.subscription,), workspace_id=None)
        yield ScenarioWorld(endpoints, FixedClock(scenario.now), world_config, StaticTokenCredential(), scenario,
                            emulator)
