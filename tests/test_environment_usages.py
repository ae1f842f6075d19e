"""The environment's core usages (PERF-06's read) from the emulator through the real SDK: the official
example's wire shape (`ManagedEnvironmentUsages_List.json`), the cores the scenario's active replicas hold,
a missing environment as ResourceNotFound, and the action the read needs granted to jobbot's role."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bot.azure.changes import AzureChangesReader
from bot.azure.credentials import StaticTokenCredential
from bot.azure.endpoints import Endpoints
from bot.azure.permissions import ARM_READS, action_for
from bot.emulator.scenario import parse_scenario
from bot.emulator.server import Emulator
from bot.errors import ResourceNotFound
from tests.support.change_world import ENV_ID, SUB, world

SAMPLE = json.loads((Path(__file__).resolve().parent / "fixtures" / "azure" /
                     "app.ManagedEnvironmentUsages_List.json").read_text())["responses"]["200"]["body"]


def running(name: str, cpu: float) -> dict[str, Any]:
    return {"name": name, "properties": {"status": "Running", "startTime": "2026-11-28T09:55:00Z", "template": {
        "containers": [{"name": "worker", "image": "contoso.azurecr.io/orders:1.5.0",
                        "resources": {"cpu": cpu, "memory": "1Gi"}}]}}}


def busy_world() -> dict[str, Any]:
    """The change world with two executions of its job running, at parallelism 2."""
    data = world()
    job = copy.deepcopy(data["jobs"][0])
    job["properties"]["configuration"]["eventTriggerConfig"]["parallelism"] = 2
    job["executions"] = [*job.get("executions", []), running("orders-processor-r1", 0.5),
                         running("orders-processor-r2", 0.75)]
    data["jobs"] = [job]
    return data


async def read(em: Emulator, environment_id: str) -> list[dict[str, Any]]:
    endpoints = Endpoints(arm=em.url, logs=em.url, queue_account=em.url + "/{account}", ca_file=em.ca_file)
    changes = AzureChangesReader(StaticTokenCredential(), (SUB,), endpoints)
    try:
        return [dict(u) for u in await changes.environment_usages(environment_id)]
    finally:
        await changes.close()


async def test_the_usages_have_the_official_shape_and_count_the_active_replicas_cores() -> None:
    with Emulator(parse_scenario(busy_world())) as em:
        usages = await read(em, ENV_ID)
        requests = [(r.method, r.path) for r in em.requests]
    assert len(usages) == 1
    assert set(usages[0]) == set(SAMPLE["value"][0]) and set(usages[0]["name"]) == set(SAMPLE["value"][0]["name"])
    assert usages[0]["name"]["value"] == SAMPLE["value"][0]["name"]["value"] == "ManagedEnvironmentConsumptionCores"
    assert usages[0]["currentValue"] == 2.5  # (0.5 + 0.75) vCPU × parallelism 2; finished executions hold none
    assert usages[0]["limit"] == 100  # the documented default quota of an environment
    assert requests == [("GET", f"{ENV_ID}/usages")]
    assert action_for("GET", requests[0][1]) == "Microsoft.App/managedEnvironments/usages/read" \
        and "Microsoft.App/managedEnvironments/usages/read" in ARM_READS


async def test_an_environment_that_does_not_exist_is_resource_not_found() -> None:
    with Emulator(parse_scenario(world())) as em, pytest.raises(ResourceNotFound):
        await read(em, ENV_ID.replace("env-orders", "env-gone"))
