"""The local Azure emulator, over real HTTPS on loopback, driven by the real SDK clients."""

from __future__ import annotations

import asyncio
import copy
import json
import ssl
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError
from azure.mgmt.appcontainers.aio import ContainerAppsAPIClient
from azure.mgmt.monitor.aio import MonitorManagementClient
from azure.mgmt.servicebus.aio import ServiceBusManagementClient
from azure.monitor.query import LogsQueryPartialResult, LogsQueryResult, LogsQueryStatus
from azure.monitor.query.aio import LogsQueryClient
from azure.storage.queue.aio import QueueClient

from bot.azure.credentials import StaticTokenCredential
from bot.emulator.logs import LogStore
from bot.emulator.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from bot.emulator.server import Emulator
from bot.kql import render

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
LA_FILE = FIXTURES / "scenarios" / "emulator-log-analytics.yaml"
AM_FILE = FIXTURES / "scenarios" / "emulator-azure-monitor.yaml"
SUB = "11111111-2222-3333-4444-555555555555"
WORKSPACE = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
JOB_ID = f"/subscriptions/{SUB}/resourceGroups/rg-orders/providers/Microsoft.App/jobs/orders-processor"
SAMPLE_SUB = "34adfa4f-cedf-4dc0-ba29-b6d1a69ab345"
START = datetime(2026, 11, 28, 9, tzinfo=UTC)
END = datetime(2026, 11, 28, 10, tzinfo=UTC)
FAST = {"retry_total": 0}  # for answers that must surface as errors at once


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "azure" / name).read_text(encoding="utf-8"))
    return data


SAMPLE_JOB = sample("Job_CreateorUpdate_EventTrigger.json")["responses"]["200"]["body"]
SAMPLE_EXECUTIONS = sample("Job_Executions_Get.json")["responses"]["200"]["body"]["value"]


def world(**changes: Any) -> dict[str, Any]:
    """The Log Analytics fixture plus the official sample job and a job with 120 executions."""
    data = load_scenario(LA_FILE).to_dict()
    busy_id = f"/subscriptions/{SUB}/resourceGroups/rg-orders/providers/Microsoft.App/jobs/busy-job"
    data["jobs"] = [
        *data["jobs"],
        {**copy.deepcopy(SAMPLE_JOB), "executions": copy.deepcopy(SAMPLE_EXECUTIONS)},
        {
            "id": busy_id,
            "name": "busy-job",
            "type": "Microsoft.App/jobs",
            "location": "westeurope",
            "properties": {},
            "executions": [{"name": f"busy-job-{i:04d}", "properties": {"status": "Succeeded"}} for i in range(120)],
        },
    ]
    data.update(changes)
    return data


def scenario(**changes: Any) -> Scenario:
    return parse_scenario(world(**changes))


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(scenario()) as running:
        yield running


@pytest.fixture
def em(emulator: Emulator) -> Emulator:
    emulator.clear_requests()
    return emulator


@pytest.fixture(scope="module")
def faulty() -> Iterator[Emulator]:
    """A second emulator whose scenario each fault test replaces with `load`."""
    with Emulator(scenario()) as running:
        yield running


def with_faults(*faults: dict[str, Any]) -> Scenario:
    return scenario(faults=list(faults))


def arm_kwargs(em: Emulator, **extra: Any) -> dict[str, Any]:
    return {"base_url": em.url, "connection_verify": em.ca_file, **extra}


def apps(em: Emulator, subscription: str = SUB, **extra: Any) -> ContainerAppsAPIClient:
    return ContainerAppsAPIClient(StaticTokenCredential(), subscription, **arm_kwargs(em, **extra))


def monitor(em: Emulator, **extra: Any) -> MonitorManagementClient:
    return MonitorManagementClient(StaticTokenCredential(), SUB, **arm_kwargs(em, **extra))


def logs(em: Emulator, **extra: Any) -> LogsQueryClient:
    return LogsQueryClient(StaticTokenCredential(), endpoint=em.url, connection_verify=em.ca_file, **extra)


def failed_executions(job: str = "orders-processor") -> str:
    return render("failed_executions", jobs=[job], start=START, end=END)


async def raw(
    em: Emulator, method: str, path: str, *, token: bool = True, headers: dict[str, str] | None = None, **kwargs: Any
) -> tuple[int, str]:
    """A plain HTTPS request, for what the SDKs will not send."""
    context = ssl.create_default_context(cafile=em.ca_file)
    headers = {**({"Authorization": "Bearer t"} if token else {}), **(headers or {})}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, em.url + path, ssl=context, headers=headers, **kwargs) as response,
    ):
        return response.status, await response.text()


# --- Container Apps jobs ------------------------------------------------------------------------------


async def test_a_job_is_served_exactly_as_the_official_sample_body(em: Emulator) -> None:
    async with apps(em, SAMPLE_SUB) as client:
        job = await client.jobs.get("rg", "testcontainerAppsJob0")
    assert job.as_dict() == SAMPLE_JOB
    assert job.properties.configuration.event_trigger_config.scale.rules[0].type == "azure-servicebus"
    status, body = await raw(em, "GET", SAMPLE_JOB["id"] + "?api-version=2026-07-01")
    assert status == 200 and json.loads(body) == SAMPLE_JOB


async def test_job_names_and_paths_are_case_insensitive(em: Emulator) -> None:
    async with apps(em, SAMPLE_SUB) as client:
        job = await client.jobs.get("RG", "TESTCONTAINERAPPSJOB0")
    assert job.name == "testcontainerAppsJob0"
    status, _ = await raw(em, "GET", SAMPLE_JOB["id"].lower().replace("jobs", "JOBS") + "?api-version=x")
    assert status == 200


async def test_jobs_are_listed_by_subscription_and_resource_group(em: Emulator) -> None:
    async with apps(em) as client:
        by_subscription = [j.name async for j in client.jobs.list_by_subscription()]
        by_group = [j.name async for j in client.jobs.list_by_resource_group("rg-orders")]
    assert by_subscription == ["orders-processor", "busy-job"] == by_group
    async with apps(em, SAMPLE_SUB) as client:
        assert [j.name async for j in client.jobs.list_by_subscription()] == ["testcontainerAppsJob0"]


async def test_the_job_body_does_not_carry_the_scenario_executions(em: Emulator) -> None:
    async with apps(em) as client:
        job = await client.jobs.get("rg-orders", "orders-processor")
    assert "executions" not in job.as_dict()


async def test_executions_list_the_official_sample_with_ids_and_types(em: Emulator) -> None:
    async with apps(em, SAMPLE_SUB) as client:
        executions = [e async for e in client.jobs_executions.list("rg", "testcontainerAppsJob0")]
        single = await client.job_execution("rg", "testcontainerAppsJob0", "TESTCONTAINERAPPJOB-27944454")
    assert [e.as_dict() for e in executions] == [{**SAMPLE_EXECUTIONS[0], "type": "Microsoft.App/jobs/executions"}]
    assert single.id == SAMPLE_EXECUTIONS[0]["id"]
    assert single.properties.template.containers[0].image == "repo/testcontainerappsjob0:v4"


async def test_executions_without_id_get_one_built_from_the_job(em: Emulator) -> None:
    async with apps(em) as client:
        execution = await client.job_execution("rg-orders", "orders-processor", "orders-processor-a1b2c")
    assert execution.id == f"{JOB_ID}/executions/orders-processor-a1b2c"
    assert execution.type == "Microsoft.App/jobs/executions"
    assert execution.properties.status == "Failed"


async def test_long_execution_lists_are_paged_with_next_links_the_sdk_follows(em: Emulator) -> None:
    async with apps(em) as client:
        names = [e.name async for e in client.jobs_executions.list("rg-orders", "busy-job")]
    assert names == [f"busy-job-{i:04d}" for i in range(120)]
    pages = [r for r in em.requests if r.path.endswith("/busy-job/executions")]
    assert [r.query.get("$skiptoken") for r in pages] == [None, "50", "100"]


async def test_a_missing_job_or_execution_is_an_arm_not_found(em: Emulator) -> None:
    async with apps(em, **FAST) as client:
        with pytest.raises(ResourceNotFoundError) as caught:
            await client.jobs.get("rg-orders", "no-such-job")
        assert caught.value.error is not None and caught.value.error.code == "ResourceNotFound"
        with pytest.raises(ResourceNotFoundError):
            await client.job_execution("rg-orders", "orders-processor", "no-such-execution")
        with pytest.raises(ResourceNotFoundError) as group:
            await client.jobs.get("rg-nowhere", "orders-processor")
        assert group.value.error is not None and group.value.error.code == "ResourceGroupNotFound"


async def test_detectors_have_the_list_detectors_shape(em: Emulator) -> None:
    async with apps(em) as client:
        detectors = [d async for d in client.jobs.list_detectors("rg-orders", "orders-processor")]
    assert [d.name for d in detectors] == ["cappjobContainerAppAvailabilityMetrics"]
    assert detectors[0].id == f"{JOB_ID}/detectors/cappjobContainerAppAvailabilityMetrics"


# --- where the logs go ---------------------------------------------------------------------------------


async def test_a_log_analytics_environment_names_its_workspace(em: Emulator) -> None:
    async with apps(em) as client:
        env = await client.managed_environments.get("rg-env", "env-orders")
        settings = await client.send_request(_get(f"{env.id}/providers/Microsoft.Insights/diagnosticSettings"))
    assert env.location == "westeurope"
    assert env.properties.app_logs_configuration.as_dict() == {
        "destination": "log-analytics",
        "logAnalyticsConfiguration": {"customerId": WORKSPACE},
    }
    assert settings.status_code == 200 and settings.json() == {"value": []}


async def test_an_azure_monitor_environment_leads_to_its_workspace_through_diagnostic_settings() -> None:
    with Emulator(load_scenario(AM_FILE)) as em:
        async with apps(em) as client:
            env = await client.managed_environments.get("rg-env", "env-monitor")
            settings = await client.send_request(_get(f"{env.id}/providers/Microsoft.Insights/diagnosticSettings"))
            workspace_id = settings.json()["value"][0]["properties"]["workspaceId"]
            workspace = await client.send_request(_get(workspace_id))
    assert env.properties.app_logs_configuration.as_dict() == {"destination": "azure-monitor"}
    [setting] = settings.json()["value"]
    assert setting["name"] == "jobbot-logs"
    assert setting["properties"]["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]
    assert workspace_id == (
        f"/subscriptions/{SUB}/resourceGroups/rg-env/providers/Microsoft.OperationalInsights/workspaces/law-env-monitor"
    )
    assert workspace.json()["properties"]["customerId"] == "bbbbbbbb-cccc-dddd-eeee-ffffffffffff"


def _get(path: str) -> Any:
    from azure.core.rest import HttpRequest

    return HttpRequest("GET", f"{path}?api-version=2021-05-01-preview")


# --- metrics and activity log --------------------------------------------------------------------------


async def test_metrics_are_bucketed_and_aggregated_as_asked(em: Emulator) -> None:
    async with monitor(em) as client:
        response = await client.metrics.list(
            JOB_ID,
            timespan="2026-11-28T09:00:00Z/2026-11-28T10:00:00Z",
            interval="PT1M",
            metricnames="Usage Bytes,UsageNanoCores",
            aggregation="Maximum,Average",
        )
    memory, cpu = response.value
    assert (memory.name.value, memory.unit) == ("Usage Bytes", "Bytes")
    points = [(p.time_stamp, p.maximum, p.average) for p in memory.timeseries[0].data]
    assert points == [
        (datetime(2026, 11, 28, 9, 10, tzinfo=UTC), 536000000, 517000000),
        (datetime(2026, 11, 28, 9, 11, tzinfo=UTC), 1073741824, 1073741824),
    ]
    assert memory.timeseries[0].data[0].total is None  # not asked for
    assert (cpu.name.value, cpu.timeseries) == ("UsageNanoCores", [])


async def test_metrics_default_to_the_primary_aggregation_and_the_scenario_hour(em: Emulator) -> None:
    async with monitor(em) as client:
        response = await client.metrics.list(JOB_ID, metricnames="Executions", interval="PT1H")
    [series] = response.value[0].timeseries
    assert [(p.time_stamp.hour, p.total, p.average) for p in series.data] == [(9, 3, None)]


async def test_the_activity_log_is_built_from_azure_activity_rows_and_filtered(em: Emulator) -> None:
    query = (
        "eventTimestamp ge '2026-11-28T08:00:00Z' and eventTimestamp le '2026-11-28T10:00:00Z'"
        f" and resourceUri eq '{JOB_ID}'"
    )
    async with monitor(em) as client:
        events = [e async for e in client.activity_logs.list(filter=query)]
        everything = [e async for e in client.activity_logs.list(filter="eventTimestamp ge '2026-11-01T00:00:00Z'")]
        with pytest.raises(HttpResponseError) as caught:
            await client.activity_logs.list(filter=f"resourceUri eq '{JOB_ID}'").__anext__()
    [event] = events
    assert event.operation_name.value == "MICROSOFT.APP/JOBS/WRITE"
    assert (event.caller, event.status.value, event.category.value) == (
        "deployer@contoso.com",
        "Success",
        "Administrative",
    )
    assert event.event_timestamp == datetime(2026, 11, 28, 9, 2, tzinfo=UTC)
    assert event.correlation_id == "5f0c2b1e-0000-4000-8000-000000000001"
    assert event.resource_group_name == "rg-orders"
    assert event.properties["statusCode"] == "OK"
    assert len(everything) == 2
    assert caught.value.status_code == 400


# --- event sources ---------------------------------------------------------------------------------------


async def test_service_bus_counts_come_from_arm(em: Emulator) -> None:
    async with ServiceBusManagementClient(StaticTokenCredential(), SUB, **arm_kwargs(em)) as client:
        namespaces = [n async for n in client.namespaces.list()]
        queue = await client.queues.get("rg-messaging", "sb-orders", "invoices")
        subscription = await client.subscriptions.get("rg-messaging", "SB-ORDERS", "events", "billing")
    assert [(n.name, n.location) for n in namespaces] == [("sb-orders", "westeurope")]
    assert "/resourceGroups/rg-messaging/" in (namespaces[0].id or "")
    assert queue.count_details is not None and subscription.count_details is not None
    assert (queue.count_details.active_message_count, queue.count_details.dead_letter_message_count) == (42, 3)
    assert queue.message_count == 45
    assert subscription.count_details.active_message_count == 7
    assert {r.target for r in em.requests} == {"queue"}


async def test_storage_queue_depth_comes_from_the_data_plane(em: Emulator) -> None:
    async with QueueClient(
        account_url=em.queue_account_url("stordersprod"),
        queue_name="orders",
        credential=StaticTokenCredential(),
        connection_verify=em.ca_file,
    ) as client:
        properties = await client.get_queue_properties()
    assert properties.approximate_message_count == 1520
    [request] = em.requests
    assert (request.path, request.query, request.target) == ("/stordersprod/orders", {"comp": "metadata"}, "queue")


async def test_an_unknown_storage_queue_is_queue_not_found(em: Emulator) -> None:
    async with QueueClient(
        account_url=em.queue_account_url("stordersprod"),
        queue_name="missing",
        credential=StaticTokenCredential(),
        connection_verify=em.ca_file,
    ) as client:
        with pytest.raises(ResourceNotFoundError) as caught:
            await client.get_queue_properties()
    assert caught.value.error_code == "QueueNotFound"


# --- Log Analytics ----------------------------------------------------------------------------------------


async def test_a_canned_query_runs_over_the_log_analytics_tables(em: Emulator) -> None:
    async with logs(em) as client:
        result = await client.query_workspace(WORKSPACE, failed_executions(), timespan=(START, END))
    assert isinstance(result, LogsQueryResult) and result.status == LogsQueryStatus.SUCCESS
    [table] = result.tables
    assert table.columns_types == ["string", "string", "long", "long", "dynamic", "dynamic", "datetime", "datetime",
                                   "string"]
    [row] = table.rows
    assert row["ExecutionName"] == "orders-processor-a1b2c"  # billing-sync's rows are filtered out
    assert (row["Attempts"], row["FailedAttempts"]) == (1, 1)
    assert json.loads(row["Reasons"]) == ["ProcessExited"] and json.loads(row["ExitCodes"]) == [137]
    assert row["FirstSeen"] == datetime(2026, 11, 28, 9, 10, 5, tzinfo=UTC)
    assert row["LastSeen"] == datetime(2026, 11, 28, 9, 11, 30, tzinfo=UTC)
    assert "exit code '137'" in row["LastMessage"]


async def test_the_same_query_runs_over_the_resource_specific_tables() -> None:
    with Emulator(load_scenario(AM_FILE)) as em:
        async with logs(em) as client:
            result = await client.query_workspace(
                "bbbbbbbb-cccc-dddd-eeee-ffffffffffff", failed_executions(), timespan=None
            )
    assert isinstance(result, LogsQueryResult)
    [row] = result.tables[0].rows
    assert row["ExecutionName"] == "orders-processor-m9n8b"
    assert (row["Attempts"], row["FailedAttempts"]) == (2, 2)


async def test_the_wire_format_is_the_services(em: Emulator) -> None:
    body = json.dumps({"query": failed_executions(), "timespan": "PT1H"})
    status, text = await raw(
        em, "POST", f"/v1/workspaces/{WORKSPACE}/query", data=body, headers={"Content-Type": "application/json"}
    )
    assert status == 200
    [table] = json.loads(text)["tables"]
    assert table["name"] == "PrimaryResult"
    assert table["columns"][:2] == [{"name": "JobName", "type": "string"}, {"name": "ExecutionName", "type": "string"}]
    row = table["rows"][0]
    assert row[0] == "orders-processor"
    assert row[4] == '["ProcessExited"]'  # dynamic values travel as JSON text
    assert row[6] == "2026-11-28T09:10:05Z"


async def test_queries_that_are_not_canned_are_refused(em: Emulator) -> None:
    tampered = failed_executions().replace("| take 1000\n", "| take 100000\n")
    assert tampered != failed_executions()
    async with logs(em, **FAST) as client:
        for text in ("ContainerAppSystemLogs_CL | take 10", tampered):
            with pytest.raises(HttpResponseError) as caught:
                await client.query_workspace(WORKSPACE, text, timespan=None)
            assert caught.value.status_code == 400
            assert caught.value.error is not None and caught.value.error.code == "BadArgumentError"


async def test_an_unknown_workspace_is_workspace_not_found(em: Emulator) -> None:
    async with logs(em, **FAST) as client:
        with pytest.raises(HttpResponseError) as caught:
            await client.query_workspace("99999999-0000-0000-0000-000000000000", failed_executions(), timespan=None)
    assert caught.value.status_code == 404
    assert caught.value.error is not None and caught.value.error.code == "WorkspaceNotFoundError"


async def test_concurrent_queries_all_answer(em: Emulator) -> None:
    # five at once, as the bot's limiter allows: one more than the emulator's pool of four cursors
    async with logs(em) as client:
        results = await asyncio.gather(
            *(client.query_workspace(WORKSPACE, failed_executions(), timespan=None) for _ in range(5))
        )
    assert [type(r) for r in results] == [LogsQueryResult] * 5
    assert [len(r.tables[0].rows) for r in results if isinstance(r, LogsQueryResult)] == [1] * 5


def test_every_kusto_type_is_serialised_as_the_service_does(tmp_path: Path) -> None:
    schema = {
        "T": {
            "When": "datetime",
            "Name": "string",
            "N": "long",
            "I": "int",
            "R": "real",
            "B": "bool",
            "D": "dynamic",
            "S": "timespan",
            "G": "guid",
        }
    }
    row = {
        "TimeGenerated": "2026-11-28T09:10:05Z",  # every row has one (the loader checks); T's schema ignores it
        "When": "2026-11-28T09:10:05.250+01:00",
        "Name": "x",
        "N": 2**40,
        "I": 7,
        "R": 0.5,
        "B": "true",
        "D": {"a": [1, 2]},
        "S": "1.02:03:04",
        "G": "5f0c2b1e-0000-4000-8000-000000000001",
    }
    data = {"name": "types", "now": "2026-11-28T10:00:00Z", "subscription": SUB, "jobs": [], "tables": {"T": [row]}}
    store = LogStore(parse_scenario(data), tmp_path, schema=schema)
    try:
        result = store.run("T | extend Codes = pack_array(N, I) | project-away G")
    finally:
        store.close()
    [table] = result["tables"]
    assert [(c["name"], c["type"]) for c in table["columns"]] == [
        ("When", "datetime"),
        ("Name", "string"),
        ("N", "long"),
        ("I", "int"),
        ("R", "real"),
        ("B", "bool"),
        ("D", "dynamic"),
        ("S", "timespan"),
        ("Codes", "dynamic"),
    ]
    assert table["rows"] == [
        ["2026-11-28T08:10:05.250000Z", "x", 2**40, 7, 0.5, True, '{"a":[1,2]}', "1.02:03:04", "[1099511627776,7]"]
    ]
    parsed = LogsQueryResult._from_generated(result).tables[0].rows[0]  # what the SDK makes of it
    assert parsed["When"] == datetime(2026, 11, 28, 8, 10, 5, 250000, tzinfo=UTC)
    assert (parsed["S"], parsed["B"], parsed["N"]) == ("1.02:03:04", True, 2**40)


# --- read-only by construction -------------------------------------------------------------------------------


WRITES = [
    ("PUT", JOB_ID),
    ("PATCH", JOB_ID),
    ("DELETE", JOB_ID),
    ("POST", f"{JOB_ID}/listSecrets"),
    ("POST", f"{JOB_ID}/start"),
    ("POST", f"{JOB_ID}/stop"),
    ("POST", f"{JOB_ID}/suspend"),
    ("POST", f"{JOB_ID}/resume"),
    ("POST", f"{JOB_ID}/executions/orders-processor-a1b2c/stop"),
    (
        "POST",
        f"/subscriptions/{SUB}/resourceGroups/rg-messaging/providers/Microsoft.ServiceBus/namespaces/sb-orders/queues/invoices",
    ),
    ("PUT", "/stordersprod/orders"),
    ("DELETE", "/stordersprod/orders/messages"),
    ("POST", "/stordersprod/orders/messages"),
    ("GET", "/stordersprod/orders/messages"),
    ("DELETE", f"/v1/workspaces/{WORKSPACE}/query"),
    ("PUT", "/anything/at/all"),
]


async def test_every_write_is_refused_with_405_and_recorded_as_not_allowed(em: Emulator) -> None:
    for method, path in WRITES:
        status, _ = await raw(em, method, path + "?api-version=2026-07-01", data=b"{}")
        assert status == 405, (method, path)
    recorded = [(r.method, r.path, r.status, r.allowed) for r in em.requests]
    assert recorded == [(method, path, 405, False) for method, path in WRITES]


async def test_the_sdk_write_calls_fail_and_change_nothing(em: Emulator) -> None:
    async with apps(em, **FAST) as client:
        with pytest.raises(HttpResponseError) as caught:
            await client.jobs.list_secrets("rg-orders", "orders-processor")
        assert caught.value.status_code == 405
        with pytest.raises(HttpResponseError):
            await client.jobs.begin_delete("rg-orders", "orders-processor")
        job = await client.jobs.get("rg-orders", "orders-processor")
    assert job.name == "orders-processor"
    assert [r.allowed for r in em.requests] == [False, False, True]


async def test_azure_routes_need_a_bearer_token_and_arm_an_api_version(em: Emulator) -> None:
    assert (await raw(em, "GET", JOB_ID + "?api-version=1", token=False))[0] == 401
    assert (await raw(em, "GET", "/stordersprod/orders?comp=metadata", token=False))[0] == 401
    status, body = await raw(em, "GET", JOB_ID)
    assert status == 400 and json.loads(body)["error"]["code"] == "MissingApiVersionParameter"
    assert (await raw(em, "GET", "/subscriptions/unknown-sub/providers/Microsoft.App/jobs?api-version=1"))[0] == 404
    assert (await raw(em, "GET", "/nothing/here?api-version=1"))[0] == 404


async def test_clients_that_do_not_trust_the_ca_cannot_connect(em: Emulator) -> None:
    async with ContainerAppsAPIClient(StaticTokenCredential(), SUB, base_url=em.url, **FAST) as client:
        with pytest.raises(ServiceRequestError):
            await client.jobs.get("rg-orders", "orders-processor")


# --- faults ----------------------------------------------------------------------------------------------------


async def test_a_one_off_429_is_retried_after_retry_after(faulty: Emulator) -> None:
    faulty.load(
        with_faults({"target": "arm", "path": "/jobs/orders-processor", "status": 429, "retry_after": 1, "times": 1})
    )
    faulty.clear_requests()
    started = time.monotonic()
    async with apps(faulty) as client:
        job = await client.jobs.get("rg-orders", "orders-processor")
    assert job.name == "orders-processor"
    assert time.monotonic() - started >= 0.9  # Retry-After was honoured
    assert [r.status for r in faulty.requests] == [429, 200]


async def test_a_500_surfaces_as_an_arm_error(faulty: Emulator) -> None:
    faulty.load(with_faults({"target": "arm", "path": "/", "status": 500}))
    async with apps(faulty, **FAST) as client:
        with pytest.raises(HttpResponseError) as caught:
            await client.jobs.get("rg-orders", "orders-processor")
    assert caught.value.status_code == 500
    assert caught.value.error is not None and caught.value.error.code == "InternalServerError"


async def test_faults_only_touch_their_target(faulty: Emulator) -> None:
    faulty.load(with_faults({"target": "queue", "status": 503}))
    async with apps(faulty) as client:
        assert (await client.jobs.get("rg-orders", "orders-processor")).name == "orders-processor"
    async with ServiceBusManagementClient(StaticTokenCredential(), SUB, **arm_kwargs(faulty, **FAST)) as client:
        with pytest.raises(HttpResponseError) as servicebus:
            await client.queues.get("rg-messaging", "sb-orders", "invoices")
    async with QueueClient(
        account_url=faulty.queue_account_url("stordersprod"),
        queue_name="orders",
        credential=StaticTokenCredential(),
        connection_verify=faulty.ca_file,
        **FAST,
    ) as queue:
        with pytest.raises(HttpResponseError) as storage:
            await queue.get_queue_properties()
    assert servicebus.value.status_code == 503
    assert storage.value.status_code == 503 and storage.value.error_code == "ServerBusy"


async def test_latency_delays_one_request_without_blocking_others(faulty: Emulator) -> None:
    faulty.load(with_faults({"target": "arm", "path": "/executions", "latency_ms": 3000}))

    async def timed(call: Any) -> float:
        started = time.monotonic()
        await call
        return time.monotonic() - started

    async with apps(faulty) as client:
        slow, fast = await asyncio.gather(
            timed(_drain(client.jobs_executions.list("rg-orders", "orders-processor"))),
            timed(client.jobs.get("rg-orders", "orders-processor")),
        )
    assert slow >= 2.9
    assert fast < 1.5


async def _drain(pages: Any) -> list[Any]:
    return [item async for item in pages]


async def test_a_partial_logs_fault_keeps_the_rows_and_reports_the_error(faulty: Emulator) -> None:
    faulty.load(with_faults({"target": "logs", "path": "/query", "partial": True}))
    async with logs(faulty) as client:
        result = await client.query_workspace(WORKSPACE, failed_executions(), timespan=None)
    assert isinstance(result, LogsQueryPartialResult)
    assert result.status == LogsQueryStatus.PARTIAL
    assert len(result.partial_data[0].rows) == 1
    assert result.partial_error is not None and result.partial_error.code == "PartialError"


async def test_a_logs_429_is_throttled_error(faulty: Emulator) -> None:
    faulty.load(with_faults({"target": "logs", "status": 429, "retry_after": 3}))
    async with logs(faulty, **FAST) as client:
        with pytest.raises(HttpResponseError) as caught:
            await client.query_workspace(WORKSPACE, failed_executions(), timespan=None)
    assert caught.value.status_code == 429
    assert caught.value.response is not None and caught.value.response.headers["Retry-After"] == "3"


async def test_a_dropped_connection_is_a_connection_error_and_is_retried(faulty: Emulator) -> None:
    faulty.load(with_faults({"target": "arm", "drop": True}))
    async with apps(faulty, **FAST) as client:
        with pytest.raises(ServiceRequestError):
            await client.jobs.get("rg-orders", "orders-processor")
    faulty.load(with_faults({"target": "arm", "drop": True, "times": 1}))
    faulty.clear_requests()
    async with apps(faulty) as client:
        assert (await client.jobs.get("rg-orders", "orders-processor")).name == "orders-processor"
    assert [r.status for r in faulty.requests] == [0, 200]


# --- control ------------------------------------------------------------------------------------------------------


async def test_the_control_endpoint_swaps_the_world_and_is_not_an_azure_call(faulty: Emulator) -> None:
    faulty.load(scenario())
    faulty.clear_requests()
    changed = world(queues=[{"type": "azure-queue", "account": "stordersprod", "name": "orders", "depth": 3}])
    status, body = await raw(faulty, "POST", "/_emulator/scenario", token=False, json=changed)
    assert (status, json.loads(body)) == (200, {"loaded": "emulator-log-analytics"})
    async with QueueClient(
        account_url=faulty.queue_account_url("stordersprod"),
        queue_name="orders",
        credential=StaticTokenCredential(),
        connection_verify=faulty.ca_file,
    ) as client:
        assert (await client.get_queue_properties()).approximate_message_count == 3
    status, body = await raw(faulty, "POST", "/_emulator/scenario", token=False, json={"path": str(AM_FILE)})
    assert (status, json.loads(body)) == (200, {"loaded": "emulator-azure-monitor"})
    status, body = await raw(faulty, "GET", "/_emulator/requests", token=False)
    recorded = json.loads(body)["requests"]
    assert [(r["target"], r["method"]) for r in recorded] == [
        ("control", "POST"),
        ("queue", "GET"),
        ("control", "POST"),
    ]
    assert faulty.scenario.name == "emulator-azure-monitor"


async def test_an_invalid_scenario_posted_to_control_is_refused_with_its_problems(faulty: Emulator) -> None:
    status, body = await raw(faulty, "POST", "/_emulator/scenario", token=False, json={"name": "x", "nope": 1})
    assert status == 400
    message = json.loads(body)["error"]["message"]
    assert "POST /_emulator/scenario: nope: unknown key" in message
    assert "now: required key is missing" in message


# --- lifecycle and validation against the schema ---------------------------------------------------------------------


def test_rows_that_do_not_fit_the_schema_fail_at_start_naming_the_cell() -> None:
    with pytest.raises(ScenarioError, match=r"tables\.ContainerAppSystemLogs_CL\[0\]\.TimeGenerated: must be an ISO"):
        parse_scenario(world(tables={"ContainerAppSystemLogs_CL": [{"TimeGenerated": "yesterday"}]}))
    row = {"TimeGenerated": "2026-11-28T09:00:00Z", "Count_d": "many"}
    bad = parse_scenario(world(tables={"ContainerAppSystemLogs_CL": [row], "NoSuchTable": []}))
    with pytest.raises(ScenarioError) as caught:
        Emulator(bad).start()
    assert "tables.ContainerAppSystemLogs_CL[0].Count_d: 'many' is not a valid real" in str(caught.value)
    assert "tables.NoSuchTable: not a table of kql/schema.json" in str(caught.value)


def test_stop_releases_the_port_and_the_ca_file() -> None:
    emulator = Emulator(parse_scenario(world()))
    emulator.start()
    url, ca_file = emulator.url, Path(emulator.ca_file)
    assert url.startswith("https://127.0.0.1:") and ca_file.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    emulator.stop()
    emulator.stop()
    assert not ca_file.exists()
    with pytest.raises(RuntimeError):
        _ = emulator.url


def test_load_before_start_replaces_the_scenario() -> None:
    emulator = Emulator(parse_scenario(world()))
    emulator.load(load_scenario(AM_FILE))
    assert emulator.scenario.name == "emulator-azure-monitor"


def test_a_record_without_billed_size_is_billed_for_its_own_data_and_a_stated_one_is_kept(tmp_path: Path) -> None:
    """Log Analytics measures `_BilledSize` itself: a scenario row gets the size of its data unless it says."""
    short = {"TimeGenerated": "2026-11-28T09:00:00Z", "JobName": "j", "Log": "ok"}
    long = {**short, "Log": "x" * 1000}
    stated = {**short, "_BilledSize": 12345}
    data = {"name": "billed", "now": "2026-11-28T10:00:00Z", "subscription": SUB, "jobs": [],
            "tables": {"ContainerAppConsoleLogs": [short, long, stated]}}
    store = LogStore(parse_scenario(data), tmp_path)
    try:
        result = store.run("ContainerAppConsoleLogs | project _BilledSize, Log")
    finally:
        store.close()
    sizes = {row[1][:5]: row[0] for row in result["tables"][0]["rows"] if row[0] != 12345}
    assert 0 < sizes["ok"] < 100 < 1000 < sizes["xxxxx"]
    assert any(row[0] == 12345 for row in result["tables"][0]["rows"])
