"""The bot's own read-only verification: each check judges what it read and says so in words."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from bot.checklists.model import FindingState
from bot.checklists.verify import executions_finding, image_finding, queue_finding, verify
from bot.errors import UpstreamError
from bot.model import Container, QueueDepth
from tests.fakes import NOW, FakeJobs, FakeQueues, execution, make_job, readers
from tests.test_checklist_model import checklist

GOOD = "contoso.azurecr.io/orders:1.4.2"
BAD = "contoso.azurecr.io/orders:1.5.0"
SINCE = NOW - timedelta(minutes=30)


def test_the_image_check_reads_the_jobs_template() -> None:
    bad = image_finding(make_job(), GOOD)
    assert bad.state is FindingState.FAIL and f"still runs `{BAD}`" in bad.evidence
    good = image_finding(make_job(containers=(Container("worker", GOOD),)), GOOD)
    assert good.state is FindingState.PASS and "ARM GET of the job" in good.evidence


def test_new_executions_must_run_the_target_and_succeed() -> None:
    old_failures = [execution("old", "Failed", 45)]
    assert executions_finding(old_failures, SINCE, GOOD).state is FindingState.WAITING
    ok = executions_finding([*old_failures, execution("n1", "Succeeded", 20, image=GOOD),
                             execution("n2", "Running", 2, image=GOOD)], SINCE, GOOD)
    assert ok.state is FindingState.PASS and "1 executions" in ok.evidence and "1 running" in ok.evidence
    failing = executions_finding([execution("n1", "Succeeded", 20, image=GOOD),
                                  execution("n2", "Failed", 10, image=GOOD)], SINCE, GOOD)
    assert failing.state is FindingState.FAIL and "`n2`" in failing.evidence
    on_old_image = executions_finding([execution("n1", "Succeeded", 20, image=BAD)], SINCE, GOOD)
    assert on_old_image.state is FindingState.WAITING and "1 started on another image" in on_old_image.evidence


def test_the_queue_drains_when_below_its_depth_at_opening() -> None:
    depth = QueueDepth("azure-queue", "st", "orders", 140)
    assert queue_finding(depth, 1520, 50).state is FindingState.PASS
    assert "down from 1520" in queue_finding(depth, 1520, 50).evidence
    assert queue_finding(replace(depth, depth=1600), 1520, 50).state is FindingState.FAIL
    assert queue_finding(replace(depth, depth=0), None, None).state is FindingState.PASS
    assert queue_finding(replace(depth, depth=40), None, 50).state is FindingState.PASS
    assert queue_finding(replace(depth, depth=400), None, 50).state is FindingState.FAIL
    unknown_start = queue_finding(depth, None, None)
    assert unknown_start.state is FindingState.WAITING and "passes once it is empty" in unknown_start.evidence


def test_verify_passes_only_once_the_world_has_changed() -> None:
    jobs = FakeJobs([make_job()], history=[execution("bad", "Failed", 5)])
    queues = FakeQueues(QueueDepth("azure-queue", "st", "orders", 1520))
    c = replace(checklist(), queue_baseline=1520, applied_at=NOW - timedelta(minutes=30))
    before = asyncio.run(verify(readers(jobs, queues=queues), c, NOW))
    assert not before.passed
    jobs.jobs = [make_job(containers=(Container("worker", GOOD),))]
    jobs.history = [execution("good", "Succeeded", 10, image=GOOD)]
    queues.depth_value = QueueDepth("azure-queue", "st", "orders", 300)
    after = asyncio.run(verify(readers(jobs, queues=queues), c, NOW))
    assert after.passed and [f.state for f in after.findings] == [FindingState.PASS] * 3


def test_an_unreadable_upstream_leaves_the_check_unknown_with_the_reason() -> None:
    class Down(FakeJobs):
        async def executions(self, job):  # type: ignore[no-untyped-def]
            raise UpstreamError("Azure Resource Manager answered HTTP 503")

    jobs = Down([make_job(containers=(Container("worker", GOOD),))])
    check = asyncio.run(verify(readers(jobs), checklist(), NOW))
    states = {f.name: f for f in check.findings}
    assert states["executions"].state is FindingState.UNKNOWN and "HTTP 503" in states["executions"].evidence
    assert states["queue"].state is FindingState.NOT_APPLICABLE  # no queue in this test world
    assert not check.passed


def test_a_hung_upstream_hits_the_deadline_instead_of_hanging_the_click() -> None:
    jobs = FakeJobs([make_job()], delay_s=5)
    check = asyncio.run(verify(readers(jobs), checklist(), NOW, deadline_s=0.1))
    assert "no answer within 0.1 s" in {f.name: f for f in check.findings}["executions"].evidence
