"""A fault on any one upstream still gives a report: that check in `error` with the reason, the rest intact."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from bot.intake import parse_job
from bot.respond.report_json import report_to_dict
from bot.runtime import triage_with
from bot.scenario_mode import scenario_world

HEALTHY = Path(__file__).resolve().parent.parent / "scenarios" / "healthy.yaml"
JOB = "invoice-renderer"

FAULTS = [
    ("arm-500", {"target": "arm", "path": "/executions", "status": 500}, "failures", "HTTP 500"),
    ("arm-hang", {"target": "arm", "path": "/executions", "latency_ms": 5000}, "failures", "no answer within"),
    ("arm-drop", {"target": "arm", "path": "/metrics", "drop": True}, "memory", "could not connect"),
    ("logs-429", {"target": "logs", "path": "/query", "status": 429, "retry_after": 1}, "exit_codes", "throttled"),
    ("logs-500", {"target": "logs", "path": "/query", "status": 500}, "exit_codes", "HTTP 500"),
    ("logs-hang", {"target": "logs", "path": "/query", "latency_ms": 5000}, "exit_codes", "no answer within"),
    ("logs-partial", {"target": "logs", "path": "/query", "partial": True}, "exit_codes", "partial"),
    ("queue-500", {"target": "queue", "path": "/", "status": 500}, "queue_depth", "HTTP 500"),
]


def with_fault(tmp: Path, fault: dict[str, Any]) -> Path:
    world = yaml.safe_load(HEALTHY.read_text())
    world["faults"] = [fault]
    path = tmp / "faulty.yaml"
    path.write_text(yaml.safe_dump(world, sort_keys=False))
    return path


@pytest.mark.parametrize(("label", "fault", "check", "reason"), FAULTS, ids=[f[0] for f in FAULTS])
def test_one_faulty_upstream_puts_its_check_in_error_and_the_report_still_arrives(
    label: str, fault: dict[str, Any], check: str, reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["triage", JOB, "--scenario", str(with_fault(tmp_path, fault)), "--format", "json"])
    assert status == 0
    report = json.loads(capsys.readouterr().out)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks[check]["status"] == "error"
    assert reason in checks[check]["summary"]
    assert report["evidence_complete"] is False
    assert report["verdict"]["cause"] != "healthy"  # never healthy while evidence is missing
    unaffected = "queue_depth" if check != "queue_depth" else "exit_codes"
    assert checks[unaffected]["status"] != "error"


def test_a_queue_endpoint_that_refuses_connections_is_reported_not_raised() -> None:
    with scenario_world(HEALTHY) as world:
        refused = replace(world.endpoints, queue_account="https://127.0.0.1:1/{account}")
        report = asyncio.run(triage_with(parse_job(JOB), timedelta(hours=1), world.config, refused,
                                         world.credential, world.clock))
    queue = report_to_dict(report)["checks"][3]
    assert queue["name"] == "queue_depth" and queue["status"] == "error"
    assert "could not connect" in queue["summary"]
    assert not report.evidence_complete


def test_a_single_throttled_query_is_retried_and_counts_as_success(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "jobbot.yaml"
    config.write_text("azure:\n  check_deadline_s: 30\n")  # judged on the retry, not on a loaded machine
    monkeypatch.setenv("JOBBOT_CONFIG", str(config))
    fault = {"target": "logs", "path": "/query", "status": 429, "retry_after": 1, "times": 1}
    assert main(["triage", JOB, "--scenario", str(with_fault(tmp_path, fault)), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["evidence_complete"] is True
    assert report["verdict"]["cause"] == "healthy"
