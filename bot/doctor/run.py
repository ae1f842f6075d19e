"""Run every doctor check: config first (the rest needs it), then Slack, Azure and the database at once."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from bot.azure.endpoints import Endpoints
from bot.clock import Clock, SystemClock
from bot.config import Config, load_config
from bot.doctor.azure import ServerDate, azure_findings
from bot.doctor.incidents import incident_finding
from bot.doctor.model import Finding, Status
from bot.doctor.slack import slack_findings
from bot.doctor.store import store_findings
from bot.errors import ConfigError
from bot.settings import Settings


def diagnose(settings: Settings, config_path: Path | None, scenario: str | Path | None = None) -> list[Finding]:
    try:
        config = load_config(config_path)
    except ConfigError as error:
        where = str(config_path) if config_path else "jobbot.yaml"
        return [Finding("config", where, Status.FAIL, problem, f"edit {where}") for problem in error.problems]
    found = [Finding("config", str(config_path) if config_path else "defaults", Status.OK,
                     f"valid: {len(config.jobs)} job{'s' if len(config.jobs) != 1 else ''} in the catalog, "
                     f"{len(config.subscriptions)} subscription{'s' if len(config.subscriptions) != 1 else ''}"),
             incident_finding(config, settings.alert_channel or config.alert_channel)]
    if scenario:
        from bot.scenario_mode import scenario_world

        with scenario_world(scenario, config) as world:
            return found + asyncio.run(_probe(settings, world.config, world.endpoints, world.credential,
                                              world.clock))

    from bot.azure.credentials import production_credential

    async def production() -> list[Finding]:
        credential = production_credential()
        async with credential:
            return await _probe(settings, config, Endpoints(), credential, SystemClock())

    return found + asyncio.run(production())


async def _probe(settings: Settings, config: Config, endpoints: Endpoints, credential: object,
                 clock: Clock) -> list[Finding]:
    from bot.azure.wiring import azure_readers

    async def azure() -> list[Finding]:
        async with azure_readers(credential, endpoints, replace(config)) as readers:
            server_date: ServerDate | None = getattr(readers.jobs, "server_date", None)
            return await azure_findings(readers, config, clock.now(), server_date)

    groups = await asyncio.gather(slack_findings(settings, config), azure(), store_findings(settings))
    return [f for group in groups for f in group]
