"""The bot's own telemetry: `GET /metrics` parses and moves with the work; a triage is traced check by check."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from bot.config import parse_config
from bot.errors import ConfigError
from bot.intake import parse_job
from bot.runtime import triage_with
from bot.scenario_mode import scenario_world
from bot.server import create_app
from bot.settings import Settings
from bot.telemetry.metrics import api_of
from bot.telemetry.tracing import configure_tracing, tracing_wanted
from tests.fixtures.alerts.payloads import alert_id, job_id, metric_alert, storm_world
from tests.support.served import serving
from tests.support.slack_fake import FakeSlack

ROOT = Path(__file__).resolve().parents[1]
OOM = ROOT / "scenarios" / "oom-after-image-change.yaml"
TOKEN = "alert-token-telemetry-41"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text exposition, by name and labels (the official parser)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def total(values: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in values.items() if n == name and all((k, labels[k]) in ls for k in labels))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, FakeSlack]]:
    tmp = tmp_path_factory.mktemp("telemetry")
    world = storm_world(tmp, jobs=1, logs_for=1)
    with FakeSlack.in_thread() as slack:
        settings = Settings(slack_bot_token="xoxb-telemetry", slack_signing_secret="s" * 32,
                            slack_api_url=slack.api_url, scenario=world.scenario,
                            database_url=f"sqlite:///{tmp / 'jobbot.db'}", alert_token=TOKEN,
                            alert_channel="C0ALERTS")
        with serving(create_app(settings, parse_config(world.config))) as app:
            yield app, slack


def test_metrics_parse_and_count_an_alert_its_triage_and_their_azure_calls(served: tuple[Any, FakeSlack]) -> None:
    app, slack = served
    http = httpx.Client(base_url=app.url, timeout=10, trust_env=False)
    before = samples(http.get("/metrics").text)
    ident = alert_id("metrics")
    assert http.post("/alerts/azure-monitor", params={"token": TOKEN},
                     json=metric_alert(ident, "failed-executions", job_id("orders-00"))).status_code == 202
    assert http.post("/alerts/azure-monitor", params={"token": "wrong"}, json={}).status_code == 401

    def triaged() -> bool:
        return any("oom (high)" in json.dumps(m.get("blocks")) for m in slack.messages.values())

    slack.wait_for_sync(lambda: triaged() or None, timeout=30)
    app.quiet()
    response = http.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    after = samples(response.text)

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("jobbot_alert_webhook_answers_total", status="202") == 1
    assert moved("jobbot_alert_webhook_answers_total", status="401") == 1
    assert moved("jobbot_alert_intake_seconds_count") == 2
    assert moved("jobbot_alert_deliveries_total", outcome="opened") == 1
    assert moved("jobbot_triage_duration_seconds_count", outcome="oom") == 1
    assert moved("jobbot_upstream_calls_total", api="arm", outcome="ok") >= 2  # the job, its executions …
    assert moved("jobbot_upstream_calls_total", api="log-analytics", outcome="ok") >= 1
    assert moved("jobbot_upstream_http_attempts_total", api="log-analytics", status="200") >= 1
    assert moved("jobbot_limiter_wait_seconds_count", limiter="Log Analytics") >= 1  # every query passes it
    assert moved("jobbot_slack_api_calls_total", method="chat.postMessage", status="ok") >= 1
    # No label carries a job, a user or a channel.
    assert "orders-00" not in response.text and "C0ALERT" not in response.text


def test_an_upstream_fault_is_counted_by_its_status_and_retries_count_as_attempts(tmp_path: Path) -> None:
    from prometheus_client import generate_latest

    from bot.telemetry.metrics import REGISTRY

    before = samples(generate_latest(REGISTRY).decode())
    with scenario_world(ROOT / "scenarios" / "fault-logs-500.yaml") as world:
        asyncio.run(triage_with(parse_job(world.scenario.expect["job"]), timedelta(hours=1), world.config,
                                world.endpoints, world.credential, world.clock))
    after = samples(generate_latest(REGISTRY).decode())
    failed = total(after, "jobbot_upstream_calls_total", api="log-analytics", outcome="500") - \
        total(before, "jobbot_upstream_calls_total", api="log-analytics", outcome="500")
    attempts = total(after, "jobbot_upstream_http_attempts_total", api="log-analytics", status="500") - \
        total(before, "jobbot_upstream_http_attempts_total", api="log-analytics", status="500")
    assert failed >= 1
    assert attempts > failed  # the SDK retried each failed call before giving up


@pytest.mark.parametrize(("path", "api"), [
    ("/v1/workspaces/abc/query", "log-analytics"),
    ("/providers/Microsoft.ResourceGraph/resources", "resource-graph"),
    ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/jobs/j", "arm"),
    ("/subscriptions/s/providers/Microsoft.App/jobs", "arm"),
    ("/orders", "storage-queue"),
])
def test_requests_are_counted_under_the_api_they_belong_to(path: str, api: str) -> None:
    assert api_of(path) == api


def test_a_triage_is_one_span_with_one_child_per_check_and_spans_for_upstream_calls() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    import bot.telemetry.tracing as tracing

    original = tracing.TRACER
    tracing.TRACER = tracer  # the global provider can be set once per process: swap the tracer instead
    try:
        with scenario_world(OOM) as world:
            report = asyncio.run(triage_with(parse_job("orders-processor"), timedelta(hours=1), world.config,
                                             world.endpoints, world.credential, world.clock))
    finally:
        tracing.TRACER = original
    spans = exporter.get_finished_spans()
    [root] = [s for s in spans if s.name == "triage"]
    assert root.attributes is not None and root.attributes["outcome"] == "oom"
    checks = [s for s in spans if s.name.startswith("check ")]
    assert sorted(s.name.removeprefix("check ") for s in checks) == sorted(c.name for c in report.checks)
    assert all(s.parent is not None and s.parent.span_id == root.context.span_id for s in checks)
    upstream = [s for s in spans if s.name.startswith("upstream ")]
    assert {s.name for s in upstream} >= {"upstream Azure Resource Manager", "upstream Log Analytics"}
    assert all(s.context.trace_id == root.context.trace_id for s in upstream)


def test_traces_are_off_unless_the_otel_variables_ask_and_a_wrong_exporter_is_refused() -> None:
    assert not tracing_wanted({})
    assert tracing_wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert not tracing_wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"})
    assert not tracing_wanted({"OTEL_TRACES_EXPORTER": "none"})
    assert configure_tracing({}) is None
    with pytest.raises(ConfigError, match="zipkin"):
        configure_tracing({"OTEL_TRACES_EXPORTER": "zipkin"})


async def test_the_work_queue_is_what_is_due_beyond_a_full_worker(tmp_path: Path) -> None:
    """jobbot_alert_work_queue: due work no replica has taken, counted only when the worker is full."""
    from bot.alerts.worker import TimerWorker
    from bot.clock import ManualClock
    from bot.store import Store, Timer
    from bot.telemetry.metrics import REGISTRY

    clock = ManualClock(datetime(2026, 11, 28, 9, 0, tzinfo=UTC))
    release = asyncio.Event()

    async def slow(_: Timer) -> None:
        await release.wait()

    with Store.open(f"sqlite:///{tmp_path / 'jobbot.db'}", clock=clock) as store:
        for key in ("a", "b", "c", "d"):
            await store.timers.schedule("work", key, clock.now(), {})
        await store.timers.schedule("work", "later", clock.now() + timedelta(hours=1), {})
        await store.timers.schedule("other", "x", clock.now(), {})  # another feature's: not this queue
        worker = TimerWorker(store, clock, "r1", {"work": slow}, lease_s=60, capacity=1)
        assert await worker.claim() == 1
        # b, c, d wait; "later" is not due, "other" is not this worker's
        assert REGISTRY.get_sample_value("jobbot_alert_work_queue") == 3
        assert await store.timers.waiting(clock.now(), ["work", "other"]) == 4
        release.set()
        await worker.drain()
        assert REGISTRY.get_sample_value("jobbot_alert_work_queue") == 0


def test_each_exporter_the_variables_can_name_is_built_and_a_missing_extra_is_named() -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    from bot.telemetry.tracing import _exporter

    assert isinstance(_exporter("otlp"), OTLPSpanExporter)  # built, not connected: nothing leaves loopback
    assert isinstance(_exporter("console"), ConsoleSpanExporter)
    with pytest.raises(ConfigError, match=r"jobbot\[azure-monitor\]"):
        _exporter("azure_monitor")  # the optional extra is not installed in the test environment
