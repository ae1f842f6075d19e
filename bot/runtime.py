"""Composition root for one-shot runs: wire config, clock, credential and readers, then triage."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from bot.azure.endpoints import Endpoints
from bot.azure.wiring import azure_readers
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.errors import ConfigError
from bot.intake import JobSpec
from bot.model import TriageReport
from bot.triage import triage


async def triage_with(
    spec: JobSpec, since: timedelta, config: Config, endpoints: Endpoints, credential: object, clock: Clock
) -> TriageReport:
    async with azure_readers(credential, endpoints, config) as readers:
        return await triage(spec, since, readers, clock, deadline_s=config.check_deadline_s, config=config)


def triage_once(spec: JobSpec, since: timedelta, config: Config, *, scenario: str | Path | None) -> TriageReport:
    if scenario:
        from bot.scenario_mode import scenario_world

        with scenario_world(scenario, config) as world:
            return asyncio.run(triage_with(spec, since, world.config, world.endpoints, world.credential,
                                           world.clock))
    if not config.subscriptions and not spec.subscription:
        raise ConfigError(["azure.subscriptions: needed to look up jobs by name (or pass a full ARM id)"])
    from bot.azure.credentials import production_credential

    async def run() -> TriageReport:
        credential = production_credential()
        async with credential:
            subscriptions = config.subscriptions or ((spec.subscription,) if spec.subscription else ())
            return await triage_with(spec, since, replace(config, subscriptions=subscriptions), Endpoints(),
                                     credential, SystemClock())

    return asyncio.run(run())
