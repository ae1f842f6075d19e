"""The change-evidence adapter (bot/azure/changes.py) against the local emulator, through the real SDKs:
Resource Graph rows, role assignments, role definitions and resources as Azure serves them; and every
Azure failure of them (403, unreachable) an UpstreamError with a reason, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.azure import changes as changes_module
from bot.azure.changes import AzureChangesReader, resource_type
from bot.azure.credentials import StaticTokenCredential
from bot.azure.endpoints import Endpoints
from bot.emulator.scenario import parse_scenario
from bot.emulator.server import Emulator
from bot.errors import NotApplicable, ResourceNotFound, UpstreamError
from tests.support.change_world import ASSIGNMENT, ENV_ID, JOB_ID, PRINCIPAL, RG, START, SUB, VAULT, world

OTHER_SUB = ASSIGNMENT["properties"]["scope"].rsplit("/", 1)[-1]


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(parse_scenario(world())) as running:
        yield running


def reader(em: Emulator, subscriptions: tuple[str, ...] = (SUB,), arm: str | None = None) -> AzureChangesReader:
    endpoints = Endpoints(arm=arm or em.url, logs=em.url, queue_account=em.url + "/{account}", ca_file=em.ca_file)
    return AzureChangesReader(StaticTokenCredential(), subscriptions, endpoints)


async def test_resource_changes_are_the_raw_rows_newest_first(emulator: Emulator) -> None:
    changes = reader(emulator)
    try:
        rows = await changes.resource_changes([JOB_ID, ENV_ID], START, related=["sample-vault"])
    finally:
        await changes.close()
    targets = [r["properties"]["targetResourceId"] for r in rows]
    assert targets == [JOB_ID, JOB_ID, f"{ENV_ID}/providers/Microsoft.Foo/bar/x", VAULT["id"]]
    newest = rows[0]["properties"]
    assert newest["changes"] == {"properties.configuration.eventTriggerConfig.parallelism":
                                 {"previousValue": 1, "newValue": 2}}
    assert newest["changeAttributes"]["changedBy"] == "pipeline-app"
    assert rows[3]["properties"]["changeAttributes"]["clientType"] == "Portal"  # the official sample's


async def test_resource_changes_read_every_page(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(changes_module, "PAGE_ROWS", 1)
    emulator.clear_requests()
    changes = reader(emulator)
    try:
        rows = await changes.resource_changes([JOB_ID, ENV_ID], START)
    finally:
        await changes.close()
    assert len(rows) == 3 == len({r["id"] for r in rows})
    assert [r.method for r in emulator.requests] == ["POST"] * 3


async def test_no_ids_and_no_names_ask_nothing(emulator: Emulator) -> None:
    emulator.clear_requests()
    assert await reader(emulator).resource_changes([], START) == []
    assert emulator.requests == []


async def test_role_assignments_of_the_identities_and_at_the_dependencies(emulator: Emulator) -> None:
    changes = reader(emulator, subscriptions=(SUB, OTHER_SUB))
    try:
        found = await changes.role_assignments([PRINCIPAL], [VAULT["id"]])
        definition = await changes.role_definition(ASSIGNMENT["properties"]["roleDefinitionId"].replace(
            "0b5fe924-9a61-425c-96af-cfe6e287ca2d", "roleDefinitionId"))
    finally:
        await changes.close()
    assert [a["name"] for a in found] == ["ra-1", ASSIGNMENT["name"]]  # sorted by id, each once
    assert found[1] == ASSIGNMENT  # ARM's JSON shape, as the service sent it
    assert definition["properties"]["roleName"] == "Role name"


async def test_a_resource_reads_as_written_and_a_missing_one_is_resource_not_found(emulator: Emulator) -> None:
    changes = reader(emulator)
    try:
        assert await changes.resource(VAULT["id"]) == VAULT
        env = await changes.resource(ENV_ID)
        assert env["properties"]["workloadProfiles"][0]["name"] == "D16-batch"
        with pytest.raises(ResourceNotFound) as missing:
            await changes.resource(f"{RG}/providers/Microsoft.ServiceBus/namespaces/sb-orders/queues/gone")
        assert missing.value.resource_id.endswith("/queues/gone")
        with pytest.raises(NotApplicable, match=r"does not read microsoft\.web/sites"):
            await changes.resource(f"{RG}/providers/Microsoft.Web/sites/app")
    finally:
        await changes.close()


def test_resource_types_name_the_provider_and_the_type_path() -> None:
    assert resource_type(VAULT["id"]) == "microsoft.keyvault/vaults"
    assert resource_type(f"{RG}/providers/Microsoft.ServiceBus/namespaces/n/topics/t/subscriptions/s") == (
        "microsoft.servicebus/namespaces/topics/subscriptions")


# --- failures become UpstreamError (issue 10 item 7) -------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "call", "fragment"),
    [
        ("/providers/microsoft.resourcegraph/resources", 403, "graph", "Azure Resource Graph answered HTTP 403"),
        ("/providers/microsoft.resourcegraph/resources", 404, "graph", "Azure Resource Graph answered HTTP 404"),
        ("/providers/microsoft.resourcegraph/resources", 503, "graph", "Azure Resource Graph answered HTTP 503"),
        ("/providers/microsoft.authorization/", 403, "roles", "Azure role assignments answered HTTP 403"),
        ("/providers/microsoft.keyvault/", 403, "resource", "Azure Resource Manager answered HTTP 403"),
    ],
)
async def test_an_azure_error_is_an_upstream_error_with_a_reason(
    emulator: Emulator, path: str, status: int, call: str, fragment: str
) -> None:
    emulator.load(parse_scenario(world(faults=[{"target": "arm", "path": path, "status": status}])))
    changes = reader(emulator)
    try:
        with pytest.raises(UpstreamError) as caught:
            if call == "graph":
                await changes.resource_changes([JOB_ID], START)
            elif call == "roles":
                await changes.role_assignments([PRINCIPAL], [])
            else:
                await changes.resource(VAULT["id"])
    finally:
        await changes.close()
        emulator.load(parse_scenario(world()))
    assert fragment in str(caught.value)
    if status == 403:
        assert "missing permission" in str(caught.value) or "AuthorizationFailed" in str(caught.value)


async def test_an_unreachable_resource_graph_is_an_upstream_error(emulator: Emulator) -> None:
    changes = reader(emulator, arm="https://127.0.0.1:9")
    try:
        with pytest.raises(UpstreamError, match="could not connect to Azure Resource Graph"):
            await changes.resource_changes([JOB_ID], START)
        with pytest.raises(UpstreamError, match="could not connect to Azure role assignments"):
            await changes.role_assignments([PRINCIPAL], [])
        with pytest.raises(UpstreamError, match="could not connect to Azure Resource Manager"):
            await changes.resource(VAULT["id"])
    finally:
        await changes.close()
