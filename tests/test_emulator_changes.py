"""The emulator's change-evidence reads (issue 10), driven by the real SDK clients: the Resource Graph query
over `resourcechanges`, role assignments and role definitions, and other resources by id. Bodies are the
official samples in tests/fixtures/azure (see its SOURCES.md)."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.authorization.aio import AuthorizationManagementClient
from azure.mgmt.resourcegraph.aio import ResourceGraphClient
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

from bot.azure.credentials import StaticTokenCredential
from bot.emulator.scenario import ScenarioError, parse_scenario
from bot.emulator.server import Emulator
from bot.kql import render, render_inline
from tests.support.change_world import (
    ASSIGNMENT,
    ASSIGNMENT_SUB,
    ENV_ID,
    IDENTITY,
    JOB_ID,
    PRINCIPAL,
    REGISTRY,
    RG,
    SAMPLE_CHANGE,
    START,
    SUB,
    VAULT,
    world,
)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(parse_scenario(world())) as running:
        yield running


@pytest.fixture
def em(emulator: Emulator) -> Emulator:
    emulator.clear_requests()
    return emulator


def graph(em: Emulator) -> ResourceGraphClient:
    return ResourceGraphClient(StaticTokenCredential(), base_url=em.url, connection_verify=em.ca_file,
                               retry_total=0)


def auth(em: Emulator) -> AuthorizationManagementClient:
    return AuthorizationManagementClient(StaticTokenCredential(), SUB, base_url=em.url, connection_verify=em.ca_file)


def changes_query(*ids: str) -> str:
    return render_inline("resource_changes", resource_ids=[i.lower() for i in ids], related=[], start=START)


async def raw(em: Emulator, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    context = ssl.create_default_context(cafile=em.ca_file)
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, em.url + path, ssl=context, headers={"Authorization": "Bearer t"}, **kwargs) as resp,
    ):
        text = await resp.text()
        return resp.status, json.loads(text) if text else None


# --- Resource Graph ------------------------------------------------------------------------------------


async def test_the_resource_graph_query_runs_the_canned_kql_over_resource_changes(em: Emulator) -> None:
    async with graph(em) as client:
        response = await client.resources(
            QueryRequest(subscriptions=[SUB], query=changes_query(JOB_ID, ENV_ID),
                         options=QueryRequestOptions(result_format="objectArray"))
        )
    assert response.total_records == response.count == 3
    assert response.result_truncated == "false" and response.skip_token is None
    rows = response.data
    # Newest first; the environment's child resource matches its parent; the vault's change is not asked for.
    targets = [r["properties"]["targetResourceId"] for r in rows]
    assert targets == [JOB_ID, JOB_ID, f"{ENV_ID}/providers/Microsoft.Foo/bar/x"]
    first = rows[0]
    assert first["properties"]["changes"] == {
        "properties.configuration.eventTriggerConfig.parallelism": {"previousValue": 1, "newValue": 2}
    }
    assert first["properties"]["changeAttributes"]["changedBy"] == "pipeline-app"
    assert first["ChangeTime"] == "2026-11-28T09:05:00Z"
    assert first["type"] == "microsoft.resources/changes" and first["subscriptionId"] == SUB
    assert first["id"].startswith(f"{JOB_ID}/providers/Microsoft.Resources/changes/")
    # The docs sample's bag is served as written (string "null", isTruncated "true").
    assert rows[2]["properties"]["changes"]["tags.key1"]["previousValue"] == "null"


async def test_the_sample_change_keeps_its_actor_fields_and_subscriptions_scope_the_rows(em: Emulator) -> None:
    async with graph(em) as client:
        mine = await client.resources(QueryRequest(subscriptions=[SUB], query=changes_query(VAULT["id"])))
        vaults = await client.resources(
            QueryRequest(subscriptions=["00000000-0000-0000-0000-000000000000"], query=changes_query(VAULT["id"])))
    assert mine.data == []
    [row] = vaults.data
    attributes = row["properties"]["changeAttributes"]
    assert (attributes["changedBy"], attributes["changedByType"], attributes["clientType"]) == (
        "someAlias@microsoft.com", "User", "Portal")
    assert row["id"] == SAMPLE_CHANGE["id"] and row["name"] == SAMPLE_CHANGE["name"]


async def test_resource_graph_pages_with_top_and_skip_token(em: Emulator) -> None:
    query = changes_query(JOB_ID, ENV_ID)
    seen: list[str] = []
    token: str | None = None
    async with graph(em) as client:
        for _ in range(5):
            page = await client.resources(QueryRequest(subscriptions=[SUB], query=query,
                                                       options=QueryRequestOptions(top=2, skip_token=token)))
            seen += [r["id"] for r in page.data]
            token = page.skip_token
            if not token:
                break
    assert len(seen) == 3 == len(set(seen))


async def test_the_table_result_format(em: Emulator) -> None:
    async with graph(em) as client:
        page = await client.resources(QueryRequest(subscriptions=[SUB], query=changes_query(JOB_ID),
                                                   options=QueryRequestOptions(result_format="table")))
    names = [c["name"] for c in page.data["columns"]]
    assert names == ["id", "name", "type", "subscriptionId", "resourceGroup", "properties", "ChangeTime"]
    assert len(page.data["rows"]) == 2


async def test_queries_that_are_not_canned_resource_graph_queries_are_refused(em: Emulator) -> None:
    log_query = render_inline("exit_codes", jobs=["orders-processor"], start=START, end=START)
    with_let = render("resource_changes", resource_ids=[JOB_ID.lower()], related=[], start=START)
    async with graph(em) as client:
        for text in ("resourcechanges | take 5", log_query, with_let, changes_query(JOB_ID) + " | take 1"):
            with pytest.raises(HttpResponseError) as caught:
                await client.resources(QueryRequest(subscriptions=[SUB], query=text))
            assert caught.value.status_code == 400


async def test_the_graph_query_is_an_allowed_read_and_nothing_else_there_is(em: Emulator) -> None:
    async with graph(em) as client:
        await client.resources(QueryRequest(subscriptions=[SUB], query=changes_query(JOB_ID)))
    history = "/providers/Microsoft.ResourceGraph/resourcesHistory?api-version=2021-06-01-preview"
    status, _ = await raw(em, "POST", history, json={"query": "x"})
    assert status == 405
    status, _ = await raw(em, "PUT", f"{VAULT['id']}/providers/Microsoft.Authorization/roleAssignments/x"
                          "?api-version=2022-04-01", json={})
    assert status == 405
    status, _ = await raw(em, "GET", "/providers/Microsoft.ResourceGraph/resources?api-version=2021-03-01")
    assert status == 405
    recorded = [(r.method, r.path.split("?")[0], r.allowed) for r in em.requests]
    assert recorded[0] == ("POST", "/providers/Microsoft.ResourceGraph/resources", True)
    assert [a for _, _, a in recorded[1:]] == [False, False, False]


# --- role assignments and role definitions ---------------------------------------------------------------


async def test_role_assignments_at_a_scope_follow_the_services_filters(em: Emulator) -> None:
    async with auth(em) as client:
        everything = [a.name async for a in client.role_assignments.list_for_scope(ASSIGNMENT_SUB)]
        at_vault = [a.name async for a in client.role_assignments.list_for_scope(VAULT["id"])]
        mine = [a.name async for a in client.role_assignments.list_for_scope(
            ASSIGNMENT_SUB, filter=f"assignedTo('{PRINCIPAL}')")]
        above = [a.name async for a in client.role_assignments.list_for_scope(
            "/subscriptions/00000000-0000-0000-0000-000000000000", filter="atScope()")]
        by_principal = [a.name async for a in client.role_assignments.list_for_scope(
            "/subscriptions/00000000-0000-0000-0000-000000000000", filter=f"principalId eq '{PRINCIPAL}'")]
    assert everything == [ASSIGNMENT["name"]]
    assert at_vault == ["ra-1"]  # the vault's own; the other subscription's is not inherited here
    assert mine == [ASSIGNMENT["name"]]
    assert above == []  # ra-1 sits below the subscription: atScope() leaves it out
    assert by_principal == ["ra-1"]  # at, above or below


async def test_a_role_assignment_reads_as_the_official_sample(em: Emulator) -> None:
    async with auth(em) as client:
        got = [a async for a in client.role_assignments.list_for_scope(ASSIGNMENT_SUB)]
        definition = await client.role_definitions.get(ASSIGNMENT_SUB, "roleDefinitionId")
    assert got[0].as_dict() == {
        "id": ASSIGNMENT["id"], "name": ASSIGNMENT["name"], "type": ASSIGNMENT["type"],
        "role_definition_id": ASSIGNMENT["properties"]["roleDefinitionId"], "principal_id": PRINCIPAL,
        "principal_type": "User", "scope": ASSIGNMENT["properties"]["scope"],
    }
    assert definition.role_name == "Role name" and definition.permissions[0].data_actions == ["dataAction"]


async def test_an_unsupported_filter_is_a_400(em: Emulator) -> None:
    async with auth(em) as client:
        with pytest.raises(HttpResponseError) as caught:
            _ = [a async for a in client.role_assignments.list_for_scope(ASSIGNMENT_SUB, filter="roleName eq 'x'")]
    assert caught.value.status_code == 400


# --- other resources ------------------------------------------------------------------------------------


@pytest.mark.parametrize("resource", [VAULT, IDENTITY, REGISTRY], ids=["vault", "identity", "registry"])
async def test_a_resource_is_served_exactly_as_written(em: Emulator, resource: dict[str, Any]) -> None:
    status, got = await raw(em, "GET", f"{resource['id']}?api-version=2024-01-01")
    assert (status, got) == (200, resource)


async def test_a_resource_with_the_environments_id_is_laid_over_it(em: Emulator) -> None:
    status, env = await raw(em, "GET", f"{ENV_ID}?api-version=2026-07-01")
    assert status == 200
    assert env["properties"]["workloadProfiles"] == [{"name": "D16-batch", "maximumCount": 3}]
    assert env["properties"]["appLogsConfiguration"]["destination"] == "log-analytics"  # the rest stays


async def test_an_unknown_resource_is_a_404(em: Emulator) -> None:
    status, error = await raw(em, "GET", f"{RG}/providers/Microsoft.KeyVault/vaults/nope?api-version=2024-01-01")
    assert status == 404 and error["error"]["code"] == "ResourceNotFound"


async def test_principal_filters_read_quoted_and_unquoted(em: Emulator) -> None:
    sub = "/subscriptions/00000000-0000-0000-0000-000000000000"
    async with auth(em) as client:
        for text in (f"principalId eq '{PRINCIPAL}'", f"principalId eq {PRINCIPAL}",
                     f"atScope() and principalId eq '{PRINCIPAL}'"):
            names = [a.name async for a in client.role_assignments.list_for_scope(sub, filter=text)]
            assert names == ([] if text.startswith("atScope") else ["ra-1"]), text


async def test_a_resource_entry_replaces_a_namespace_the_emulator_would_build() -> None:
    ns_id = f"{RG}/providers/Microsoft.ServiceBus/namespaces/sb-orders"
    namespace = {"id": ns_id, "name": "sb-orders", "type": "Microsoft.ServiceBus/Namespaces",
                 "properties": {"disableLocalAuth": True}}
    data = world()
    data["queues"] = [*data.get("queues", []), {"type": "azure-servicebus", "account": "sb-orders", "name": "q"}]
    data["resources"] = [*data["resources"], namespace]
    with Emulator(parse_scenario(data)) as running:
        status, got = await raw(running, "GET", f"{ns_id}?api-version=2026-01-01")
        queue_status, _ = await raw(running, "GET", f"{ns_id}/queues/q?api-version=2026-01-01")
    assert (status, got) == (200, namespace)
    assert queue_status == 200  # its entities still come from `queues`


def test_resource_graph_rows_belong_under_resource_changes_not_tables() -> None:
    bad = parse_scenario(world(tables={"resourcechanges": [{"TimeGenerated": "2026-11-28T09:00:00Z"}]}))
    with pytest.raises(ScenarioError, match=r"tables\.resourcechanges: a Resource Graph table.*resource_changes"):
        Emulator(bad).start()


async def test_a_get_of_the_graph_query_is_refused_saying_post(em: Emulator) -> None:
    context = ssl.create_default_context(cafile=em.ca_file)
    async with (
        aiohttp.ClientSession() as session,
        session.get(em.url + "/providers/Microsoft.ResourceGraph/resources?api-version=2021-03-01", ssl=context,
                    headers={"Authorization": "Bearer t"}) as response,
    ):
        assert (response.status, response.headers["Allow"]) == (405, "POST")
