"""The triage core on fakes: concurrency, deadlines, faults as findings, verdicts from evidence."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.clock import FixedClock
from bot.errors import UpstreamError
from bot.evidence.registry import CHECKS, CORE_CHECKS
from bot.intake import JobSpec
from bot.model import Cause, CheckStatus, Confidence, MetricSeries, QueueDepth
from bot.triage import triage
from tests.fakes import NOW, FakeJobs, FakeLogs, FakeQueues, execution, make_job, readers

HOUR = timedelta(hours=1)


def oom_logs() -> FakeLogs:
    return FakeLogs({
        "exit_codes": [{"ExitCode": 137, "Count": 6, "Executions": 3, "LastSeen": NOW, "SampleExecution": "e1"}],
        "failed_executions": [
            {"ExecutionName": f"e{i}", "Attempts": 2, "FailedAttempts": 2, "Reasons": ["BackoffLimitExceeded"],
             "ExitCodes": [137], "FirstSeen": NOW, "LastSeen": NOW, "LastMessage": "killed"} for i in (1, 2, 3)
        ],
        "config_changes": [
            {"TimeGenerated": NOW - timedelta(minutes=58), "CategoryValue": "Administrative",
             "OperationNameValue": "MICROSOFT.APP/JOBS/WRITE", "ActivityStatusValue": "Succeeded",
             "Caller": "deployer@contoso.com", "ResourceId": make_job().ref.id.lower(), "CorrelationId": "c1",
             "Properties": "{}"},
        ],
    })


def oom_history() -> list:
    return [
        execution("e1", "Failed", 10), execution("e2", "Failed", 20), execution("e3", "Failed", 30),
        execution("e0", "Succeeded", 70, image="contoso.azurecr.io/orders:1.4.2"),
    ]


async def test_oom_after_image_change_names_the_change_and_the_last_good_image() -> None:
    usage = MetricSeries("Usage Bytes", "Bytes", ((NOW, 1_050_000_000.0),))
    jobs = FakeJobs([make_job()], oom_history(), metrics={"Usage Bytes": usage})
    report = await triage(JobSpec("orders-processor"), HOUR, readers(jobs, oom_logs()), FixedClock(NOW))
    verdict = report.verdict
    assert verdict.cause is Cause.OOM
    assert verdict.confidence is Confidence.HIGH
    assert verdict.suspected_change is not None
    assert verdict.suspected_change.caller == "deployer@contoso.com"
    assert "orders:1.4.2 → contoso.azurecr.io/orders:1.5.0" in verdict.suspected_change.what
    assert verdict.rollback_candidate is not None
    assert verdict.rollback_candidate.image == "contoso.azurecr.io/orders:1.4.2"
    assert {c.name for c in report.checks} >= set(CORE_CHECKS)
    assert report.evidence_complete


async def test_exit_137_without_memory_evidence_is_oom_with_lower_confidence() -> None:
    jobs = FakeJobs([make_job()], oom_history())
    report = await triage(JobSpec("orders-processor"), HOUR, readers(jobs, oom_logs()), FixedClock(NOW))
    assert report.verdict.cause is Cause.OOM
    assert report.verdict.confidence is Confidence.MEDIUM


async def test_each_upstream_source_is_read_once_however_many_checks_use_it() -> None:
    jobs = FakeJobs([make_job()], oom_history())
    logs = oom_logs()
    await triage(JobSpec("orders-processor"), HOUR, readers(jobs, logs), FixedClock(NOW))
    assert jobs.calls.count("executions") == 1
    assert jobs.calls.count("log_setup") == 1
    assert sorted(logs.calls) == sorted(set(logs.calls))


async def test_checks_run_concurrently_so_slow_sources_do_not_add_up() -> None:
    jobs = FakeJobs([make_job()], oom_history(), delay_s=1.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await triage(JobSpec("orders-processor"), HOUR, readers(jobs, oom_logs()), FixedClock(NOW))
    # Eight checks wait on the same 1 s source: serially that would be 8 s (the margin survives a loaded CI).
    assert loop.time() - started < 4.0


async def test_a_failing_query_becomes_an_error_check_and_the_report_still_arrives() -> None:
    logs = oom_logs()
    logs.failures = {"exit_codes": UpstreamError("Log Analytics answered HTTP 500")}
    jobs = FakeJobs([make_job()], oom_history())
    report = await triage(JobSpec("orders-processor"), HOUR, readers(jobs, logs), FixedClock(NOW))
    exit_codes = report.check("exit_codes")
    assert exit_codes is not None and exit_codes.status is CheckStatus.ERROR
    assert "HTTP 500" in exit_codes.summary
    assert not report.evidence_complete
    assert "exit_codes" in report.verdict.missing_evidence


async def test_a_check_past_its_deadline_ends_in_error_with_the_reason() -> None:
    jobs = FakeJobs([make_job()], oom_history(), delay_s=5)
    report = await triage(JobSpec("orders-processor"), HOUR, readers(jobs, oom_logs()), FixedClock(NOW),
                          deadline_s=0.2)
    failures = report.check("failures")
    assert failures is not None and failures.status is CheckStatus.ERROR
    assert "0.2 s" in failures.summary


async def test_healthy_job_is_healthy_and_never_while_evidence_is_missing() -> None:
    history = [execution(f"ok{i}", "Succeeded", 5 * i + 1) for i in range(6)]
    jobs = FakeJobs([make_job()], history)
    queues = FakeQueues(QueueDepth("azure-queue", "st", "orders", 3))
    report = await triage(JobSpec("orders-processor"), HOUR, readers(jobs, FakeLogs(), queues), FixedClock(NOW))
    assert report.verdict.cause is Cause.HEALTHY

    broken = FakeLogs(failures={name: UpstreamError("Log Analytics answered HTTP 500") for name in
                                ("failed_executions", "exit_codes", "platform_errors", "config_changes",
                                 "console_errors")})
    report = await triage(JobSpec("orders-processor"), HOUR, readers(jobs, broken, queues), FixedClock(NOW))
    assert report.verdict.cause is Cause.UNKNOWN
    assert "missing" in report.verdict.summary


async def test_saturation_when_running_at_max_executions_with_a_deep_queue_and_no_failures() -> None:
    history = [execution(f"run{i}", "Running", 3) for i in range(10)] + [execution("ok", "Succeeded", 20)]
    queues = FakeQueues(QueueDepth("azure-queue", "st", "orders", 9000))
    world = readers(FakeJobs([make_job()], history), FakeLogs(), queues)
    report = await triage(JobSpec("orders-processor"), HOUR, world, FixedClock(NOW))
    assert report.verdict.cause is Cause.SATURATION
    assert report.verdict.rollback_candidate is None


async def test_dependency_failures_offer_no_rollback() -> None:
    history = [execution(f"f{i}", "Failed", 5 * i + 1) for i in range(4)] + [execution("ok", "Succeeded", 50)]
    logs = FakeLogs({
        "exit_codes": [{"ExitCode": 1, "Count": 4, "Executions": 4, "LastSeen": NOW}],
        "console_errors": [{"TimeGenerated": NOW - timedelta(minutes=5 * i), "ReplicaName": f"orders-processor-f{i}-r1",
                            "ExecutionName": f"orders-processor-f{i}", "Stream": "stderr",
                            "Log": "could not connect to server: Connection refused (db:5432)"} for i in range(4)],
    })
    report = await triage(JobSpec("orders-processor"), HOUR, readers(FakeJobs([make_job()], history), logs),
                          FixedClock(NOW))
    assert report.verdict.cause is Cause.DEPENDENCY
    assert report.verdict.rollback_candidate is None


def test_every_registered_check_says_what_it_detects() -> None:
    assert all(check.doc for check in CHECKS)
    assert len({check.name for check in CHECKS}) == len(CHECKS)


async def test_a_stopped_execution_is_not_a_success_and_says_who_stopped_the_job() -> None:
    logs = FakeLogs({"config_changes": [
        {"TimeGenerated": NOW - timedelta(minutes=25), "CategoryValue": "Administrative",
         "OperationNameValue": "MICROSOFT.APP/JOBS/STOP/ACTION", "ActivityStatusValue": "Succeeded",
         "Caller": "ops@contoso.com", "ResourceId": make_job().ref.id, "CorrelationId": "s1", "Properties": "{}"}]})
    jobs = FakeJobs([make_job()], [execution("e1", "Stopped", 20), execution("e2", "Succeeded", 40)])
    report = await triage(JobSpec("orders-processor"), HOUR, readers(jobs, logs), FixedClock(NOW))
    failures = report.check("failures")
    assert failures is not None and failures.status is CheckStatus.WARN
    assert failures.summary == ("No execution in the window failed; 1 stopped (the job was stopped by "
                                "ops@contoso.com): stopped work did not complete.")
    assert report.verdict.cause is not Cause.HEALTHY
    assert "1 of 2 were stopped (the job was stopped by ops@contoso.com)" in report.verdict.summary


async def test_every_scale_rule_event_source_is_read_and_a_missing_one_is_named() -> None:
    from bot.errors import ResourceNotFound
    from bot.model import ScaleRule

    class PerRule:
        async def depth(self, job: object, rule: ScaleRule) -> QueueDepth:
            if rule.metadata["queueName"] == "orders-eu":
                raise ResourceNotFound("storage queue st/orders-eu")
            return QueueDepth("azure-queue", "st", rule.metadata["queueName"], 7)

    rules = (ScaleRule("us", "azure-queue", {"accountName": "st", "queueName": "orders-us", "queueLength": "5"}),
             ScaleRule("eu", "azure-queue", {"accountName": "st", "queueName": "orders-eu", "queueLength": "5"}))
    jobs = FakeJobs([make_job(rules=rules)], [execution("e1", "Succeeded", 10)])
    base = readers(jobs, FakeLogs())
    report = await triage(JobSpec("orders-processor"), HOUR, type(base)(base.jobs, base.logs, PerRule()),
                          FixedClock(NOW))
    queue = report.check("queue_depth")
    assert queue is not None and queue.status is CheckStatus.FAIL
    assert "7 messages in st/orders-us" in queue.summary
    assert "another scale rule does not exist: storage queue st/orders-eu (404)" in queue.summary
