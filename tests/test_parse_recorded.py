"""bot/azure/resources.py on real recorded ARM bodies, and one reading of ARM times.

The bodies in tests/fixtures/azure/recorded/ were recorded by the Azure CLI's `containerapp job` scenario
tests against real Azure (Azure/azure-cli, src/azure-cli/azure/cli/command_modules/containerapp/tests/
latest/recordings/test_containerapp_manualjob_crudoperations_e2e.yaml and test_containerapp_eventjob_
crudoperations_e2e.yaml at 05efc032fdd0cd9a387eef9b3667346d8c8fb263; MIT). See that folder's SOURCES.md.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bot.azure.resources import parse_job, parse_time
from bot.evidence.activity import suspect
from bot.evidence.arm_time import parse_arm_time

RECORDED = Path(__file__).parent / "fixtures" / "azure" / "recorded"


def recorded(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((RECORDED / name).read_text())
    return body


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-04-18T03:14:28.1391783", datetime(2024, 4, 18, 3, 14, 28, 139178, tzinfo=UTC)),
    ("2024-04-18T03:12:56.9518573Z", datetime(2024, 4, 18, 3, 12, 56, 951857, tzinfo=UTC)),
    ("2021-11-19T14:29:09.9210000Z", datetime(2021, 11, 19, 14, 29, 9, 921000, tzinfo=UTC)),
    ("2024-04-09T13:26:17.347+00:00", datetime(2024, 4, 9, 13, 26, 17, 347000, tzinfo=UTC)),
    ("2024-04-09T15:26:17+02:00", datetime(2024, 4, 9, 13, 26, 17, tzinfo=UTC)),
    ("2024-04-18T03:14:28", datetime(2024, 4, 18, 3, 14, 28, tzinfo=UTC)),
])
def test_arm_times_are_aware_utc_whatever_their_shape(text: str, expected: datetime) -> None:
    parsed = parse_arm_time(text)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == timedelta(0)


def test_datetimes_none_and_garbage() -> None:
    assert parse_arm_time(None) is None and parse_arm_time("") is None
    assert parse_arm_time(datetime(2024, 1, 1)) == datetime(2024, 1, 1, tzinfo=UTC)
    plus_two = datetime(2024, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    assert parse_arm_time(plus_two) == datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_arm_time("yesterday")
    assert parse_time is not None and parse_time("2024-04-18T03:14:28.1391783") == parse_arm_time(
        "2024-04-18T03:14:28.1391783")


def test_a_recorded_manual_job_parses_with_its_naive_seven_digit_times_as_utc() -> None:
    job = parse_job(recorded("manual_job.json"))
    assert job.last_modified_at == datetime(2024, 4, 18, 3, 11, 57, 138216, tzinfo=UTC)
    assert job.last_modified_by == "xinyupang@microsoft.com"
    assert job.trigger_type == "Manual"
    assert (job.ref.name, job.ref.resource_group) == ("job1000002", "clitest.rg000001")
    assert job.replica_timeout_s == 200 and job.replica_retry_limit == 2
    assert [c.memory for c in job.containers] == ["0.5Gi"]


def test_manual_and_schedule_jobs_keep_parallelism_under_their_own_trigger() -> None:
    manual = recorded("manual_job.json")
    manual["properties"]["configuration"]["manualTriggerConfig"]["parallelism"] = 3
    assert parse_job(manual).parallelism == 3
    schedule = recorded("schedule_job.json")
    schedule["properties"]["configuration"]["scheduleTriggerConfig"]["parallelism"] = 4
    job = parse_job(schedule)
    assert job.parallelism == 4 and job.trigger_type == "Schedule"
    assert job.last_modified_at == datetime(2024, 4, 18, 3, 12, 56, 951857, tzinfo=UTC)


def test_a_recorded_event_job_keeps_every_scale_rule() -> None:
    body = recorded("event_job.json")
    rules = body["properties"]["configuration"]["eventTriggerConfig"]["scale"]["rules"]
    second = copy.deepcopy(rules[0]) | {"name": "queue-2"}
    second["metadata"] = second["metadata"] | {"queueName": "other"}
    rules.append(second)
    job = parse_job(body)
    assert [(r.name, r.metadata["queueName"]) for r in job.rules] == [("queue", "testeventdrivenjobs"),
                                                                     ("queue-2", "other")]
    assert job.max_executions == 10 and job.polling_interval_s == 60 and job.parallelism == 1
    assert "containerappextension" in job.dependencies


def test_a_naive_recorded_time_no_longer_breaks_the_suspected_change() -> None:
    # Before the fix the naive lastModifiedAt met an aware trouble time: TypeError, suspected change lost.
    job = parse_job(recorded("manual_job_after_update.json"))
    trouble = datetime(2024, 4, 18, 3, 30, tzinfo=UTC)
    change = suspect(job, [], ["memory 0.5Gi -> 1Gi"], trouble)
    assert change is not None
    assert change.time == datetime(2024, 4, 18, 3, 12, 21, 926483, tzinfo=UTC)
    assert change.caller == "xinyupang@microsoft.com"
