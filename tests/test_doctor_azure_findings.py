"""The Azure half of `jobbot doctor` on the ports, one finding per thing that can be wrong, each with its fix."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from bot.config import Config, JobEntry
from bot.doctor.azure import azure_findings
from bot.doctor.model import Finding, Status
from bot.errors import NotApplicable, UpstreamError
from bot.model import LogSetup, QueueDepth
from tests.fakes import FakeJobs, FakeLogs, FakeQueues, make_job, readers

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
CONFIG = Config(subscriptions=("sub-1",))
TABLES = [{"Table": "ContainerAppConsoleLogs_CL", "Rows": 40}, {"Table": "ContainerAppSystemLogs_CL", "Rows": 12},
          {"Table": "AzureActivity", "Rows": 3}]


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check: f for f in findings}


async def test_no_subscription_is_one_failure_saying_where_to_list_them() -> None:
    [finding] = await azure_findings(readers(FakeJobs([])), Config(), NOW)
    assert finding.status == Status.FAIL and "azure.subscriptions" in finding.fix


async def test_a_denied_jobs_list_names_the_permission() -> None:
    @dataclass
    class Denied(FakeJobs):
        async def list_jobs(self):  # type: ignore[no-untyped-def]
            raise UpstreamError("Azure Resource Manager answered HTTP 403 (AuthorizationFailed, missing permission)")

    [finding] = await azure_findings(readers(Denied([])), CONFIG, NOW)
    assert finding.check == "list jobs" and "Microsoft.App/jobs/read" in finding.fix


async def test_no_job_in_the_subscriptions_is_a_warning() -> None:
    [finding] = await azure_findings(readers(FakeJobs([])), CONFIG, NOW)
    assert finding.status == Status.WARN and "no Container Apps job" in finding.fix


async def test_a_quiet_table_warns_a_missing_activity_export_warns_and_a_denied_query_fails() -> None:
    quiet = [{"Table": "ContainerAppConsoleLogs_CL", "Rows": 0}, {"Table": "ContainerAppSystemLogs_CL", "Rows": 5}]
    found = by_check(await azure_findings(readers(FakeJobs([make_job()]), FakeLogs({"doctor_tables": quiet})),
                                          CONFIG, NOW))
    logs = "orders-processor: logs in ws-1"
    assert found[f"{logs}: ContainerAppConsoleLogs_CL"].status == Status.WARN
    assert found[f"{logs}: ContainerAppSystemLogs_CL"].status == Status.OK
    assert found[f"{logs}: AzureActivity"].status == Status.WARN
    denied = FakeLogs(failures={"doctor_tables": UpstreamError("Log Analytics answered HTTP 403 (missing permission)")})
    found = by_check(await azure_findings(readers(FakeJobs([make_job()]), denied), CONFIG, NOW))
    assert found[f"{logs}: query"].status == Status.FAIL and "Log Analytics Reader" in found[f"{logs}: query"].fix


async def test_azure_monitor_destination_needs_the_resource_specific_tables_from_a_diagnostic_setting() -> None:
    jobs = FakeJobs([make_job()], setup=LogSetup("ws-2", "azure-monitor"))
    found = by_check(await azure_findings(readers(jobs, FakeLogs({"doctor_tables": TABLES})), CONFIG, NOW))
    missing = found["orders-processor: logs in ws-2: ContainerAppConsoleLogs"]
    assert missing.status == Status.FAIL and "diagnostic setting" in missing.fix


async def test_logs_sent_nowhere_and_a_queue_that_cannot_be_read() -> None:
    @dataclass
    class Nowhere(FakeJobs):
        async def log_setup(self, job):  # type: ignore[no-untyped-def]
            raise NotApplicable("the environment env does not send logs to a Log Analytics workspace")

    @dataclass
    class Refused(FakeQueues):
        async def depth(self, job, rule):  # type: ignore[no-untyped-def]
            raise UpstreamError("Azure Storage queues answered HTTP 403 (AuthorizationPermissionMismatch)")

    found = by_check(await azure_findings(readers(Nowhere([make_job()]), queues=Refused()), CONFIG, NOW))
    assert found["orders-processor: logs"].status == Status.FAIL and "--logs-destination" in found[
        "orders-processor: logs"].fix
    queue = next(f for f in found.values() if "queue depth" in f.check)
    assert queue.status == Status.FAIL and "Storage Queue Data Reader" in queue.fix


async def test_a_catalog_job_found_is_probed_and_one_not_found_is_named() -> None:
    config = replace(CONFIG, jobs={"orders-processor": JobEntry("orders-processor"), "gone": JobEntry("gone")})
    queues = FakeQueues(QueueDepth("azure-queue", "st", "orders", 7))
    found = by_check(await azure_findings(readers(FakeJobs([make_job(), make_job("other")]),
                                                  FakeLogs({"doctor_tables": TABLES}), queues), config, NOW))
    assert found["catalog job gone"].status == Status.FAIL
    assert "other: executions" not in found  # the catalog says which jobs matter
    depth = next(f for f in found.values() if "queue depth" in f.check)
    assert depth.status == Status.OK and depth.detail == "7 messages waiting"


async def test_the_clock_is_skipped_when_azure_cannot_say_the_time() -> None:
    async def no_header() -> None:
        return None

    async def refused() -> datetime:
        raise UpstreamError("Azure Resource Manager answered HTTP 500")

    for probe, why in ((no_header, "no Date header"), (refused, "could not read Azure's clock")):
        found = await azure_findings(readers(FakeJobs([])), CONFIG, NOW, probe)
        clock = next(f for f in found if f.area == "clock")
        assert clock.status == Status.SKIPPED and why in clock.detail


async def test_a_clock_in_step_passes() -> None:
    async def close() -> datetime:
        return datetime.now(UTC) - timedelta(seconds=1)

    found = await azure_findings(readers(FakeJobs([])), CONFIG, NOW, close)
    assert next(f for f in found if f.area == "clock").status == Status.OK
