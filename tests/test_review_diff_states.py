"""Where `review --diff` finds the job as it was, and how rule changes are named: pure functions, no emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import InvalidRequest
from bot.model import Container, Execution, ExecutionStatus
from bot.review import diff_before as bf
from bot.review.diff import compare_rules
from bot.review.diff_service import parse_at
from bot.review.findings import Finding, Pillar, Severity, Status

JOB_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/jobs/render"
NOW = datetime(2026, 12, 8, 12, tzinfo=UTC)


def current() -> dict[str, object]:
    return {"id": JOB_ID, "name": "render", "properties": {
        "configuration": {"replicaTimeout": 300, "triggerType": "Event"},
        "template": {"containers": [{"name": "worker", "image": "acr.io/render:2.0",
                                     "resources": {"cpu": 1.0, "memory": "2Gi"}}]}}}


def test_an_execution_template_gives_image_and_resources_only() -> None:
    ran = Execution("render-1", ExecutionStatus.SUCCEEDED, NOW - timedelta(days=3), NOW - timedelta(days=3),
                    (Container("worker", "acr.io/render:1.9", 0.5, "1Gi"),))
    later = Execution("render-2", ExecutionStatus.SUCCEEDED, NOW - timedelta(hours=1), NOW,
                      (Container("worker", "acr.io/render:2.0", 1.0, "2Gi"),))
    before = bf.from_executions(current(), [later, ran], NOW - timedelta(days=2))
    worker = before.body["properties"]["template"]["containers"][0]
    assert (worker["image"], worker["resources"]) == ("acr.io/render:1.9", {"cpu": 0.5, "memory": "1Gi"})
    assert before.body["properties"]["configuration"]["replicaTimeout"] == 300  # not in a template: unchanged
    assert "render-1" in before.note and "taken as unchanged" in before.note
    with pytest.raises(bf.Unreadable, match="could not find an execution before"):
        bf.from_executions(current(), [later], NOW - timedelta(days=2))


def test_resource_graph_history_is_undone_newest_first_and_only_within_its_14_days() -> None:
    def row(at: datetime, before: str, after: str) -> dict[str, object]:
        return {"properties": {"targetResourceId": JOB_ID, "changeType": "Update",
                               "changeAttributes": {"timestamp": at.isoformat(), "changedBy": "a@contoso.com"},
                               "changes": {"properties.configuration.replicaTimeout":
                                           {"previousValue": before, "newValue": after}}}}
    rows = [row(NOW - timedelta(days=1), "900", "300"), row(NOW - timedelta(days=3), "1800", "900")]
    then = bf.from_graph(current(), rows, JOB_ID, NOW - timedelta(days=4), NOW)
    assert then.body["properties"]["configuration"]["replicaTimeout"] == 1800  # a number, as the property is now
    between = bf.from_graph(current(), rows, JOB_ID, NOW - timedelta(days=2), NOW)
    assert between.body["properties"]["configuration"]["replicaTimeout"] == 900
    with pytest.raises(bf.Unreadable, match="keeps 14 days"):
        bf.from_graph(current(), rows, JOB_ID, NOW - timedelta(days=15), NOW)


def test_a_saved_definition_of_another_job_is_refused() -> None:
    other = '{"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/jobs/other", "properties": {}}'
    with pytest.raises(bf.Unreadable, match="not of this job"):
        bf.from_file(other, "before.json", JOB_ID)
    assert bf.from_file(other.replace("/other", "/RENDER"), "before.json", JOB_ID).source == "file"


def finding(rule: str, status: Status) -> Finding:
    return Finding(rule, Pillar.RELIABILITY, Severity.HIGH, status, f"{rule} {status.value}", None, None, ())


def test_rule_changes_are_named_from_the_two_statuses() -> None:
    before = [finding("A", Status.OK), finding("B", Status.WARN), finding("C", Status.FAIL), finding("D", Status.OK),
              finding("E", Status.ERROR), finding("F", Status.WARN)]
    after = [finding("A", Status.FAIL), finding("B", Status.OK), finding("C", Status.WARN), finding("D", Status.WARN),
             finding("E", Status.OK), finding("F", Status.WARN)]
    named = {c.id: c.change for c in compare_rules(before, after)}
    assert named == {"A": "new fail", "B": "fixed", "C": "eased", "D": "new warn", "E": "not comparable"}




def test_at_is_a_utc_time_or_a_span_ago_within_90_days_of_the_runs_clock() -> None:
    assert parse_at("3d", NOW) == NOW - timedelta(days=3)
    assert parse_at("2026-12-05T11:00Z", NOW) == datetime(2026, 12, 5, 11, tzinfo=UTC)
    assert parse_at("2026-12-05T12:00:00+01:00", NOW) == datetime(2026, 12, 5, 11, tzinfo=UTC)
    for wrong, says in (("2026-12-09T00:00Z", "in the past"), ("100d", "at most 90 days"), ("soon", "like 36h")):
        with pytest.raises(InvalidRequest, match=says):
            parse_at(wrong, NOW)
