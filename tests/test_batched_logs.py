"""Batch across jobs (issue 18 item 2): asks for the same batched query that arrive together go to Log
Analytics once, each gets exactly its own job's rows, a lone triage does not wait, a batch cut by its cap
is asked again per job, and one error reaches every ask. No wall clock: windows are long and the tests
only check who was asked what."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.clock import FixedClock, ManualClock
from bot.errors import UpstreamError
from bot.evidence.batched_logs import BatchedLogs, rows_of, split_by_job
from bot.evidence.shared_reads import STORM_S, SharedReads
from bot.intake import JobSpec
from bot.model import QueryResult, Window

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
WINDOW = Window(NOW - timedelta(hours=1), NOW)
LONG = 60.0  # a batching window no test may wait out


@dataclass
class Workspace:
    """The LogsReader port: every row of a workspace, each tagged with its job, as the service answers."""

    rows: Sequence[Mapping[str, Any]] = ()
    failure: Exception | None = None
    cap: int | None = None  # the query's `take N`
    asked: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (query, jobs asked)

    async def query(self, workspace_id: str, query_name: str, params: Mapping[str, object],
                    window: Window) -> QueryResult:
        jobs = params.get("jobs")
        assert isinstance(jobs, list)
        self.asked.append((query_name, tuple(jobs)))
        await asyncio.sleep(0)
        if self.failure is not None:
            raise self.failure
        wanted = {j.lower() for j in jobs}
        return QueryResult(tuple(r for r in self.rows if str(r["JobName"]).lower() in wanted)[:self.cap])


def rows_for(*jobs: str, each: int = 2) -> list[dict[str, Any]]:
    return [{"JobName": job, "ExitCode": 137, "Count": n} for job in jobs for n in range(each)]


async def ask(logs: BatchedLogs, job: str, query: str = "exit_codes", window: Window = WINDOW) -> QueryResult:
    return await logs.query("ws-1", query, {"jobs": [job], "start": window.start, "end": window.end}, window)


async def test_asks_of_a_storm_go_out_as_one_query_and_each_gets_its_own_rows() -> None:
    workspace = Workspace(rows_for("orders", "invoices", "Refunds", "not-asked"))
    logs = BatchedLogs(workspace, window_s=0.01, crowded=lambda: True)
    orders, invoices, refunds = await asyncio.gather(ask(logs, "orders"), ask(logs, "invoices"), ask(logs, "refunds"))
    assert workspace.asked == [("exit_codes", ("invoices", "orders", "refunds"))]
    assert [r["JobName"] for r in orders.rows] == ["orders", "orders"]
    assert [r["JobName"] for r in invoices.rows] == ["invoices", "invoices"]
    assert [r["JobName"] for r in refunds.rows] == ["Refunds", "Refunds"], "names compare ignoring case"
    assert logs.batches == 1


async def test_a_lone_triage_does_not_wait_for_company() -> None:
    workspace = Workspace(rows_for("orders"))
    logs = BatchedLogs(workspace, window_s=LONG, crowded=lambda: False)
    answer = await asyncio.wait_for(ask(logs, "orders"), timeout=LONG / 2)
    assert len(answer.rows) == 2 and workspace.asked == [("exit_codes", ("orders",))]
    assert logs.batches == 0


async def test_only_the_same_query_and_window_batch() -> None:
    workspace = Workspace(rows_for("orders", "invoices"))
    logs = BatchedLogs(workspace, window_s=0.01, crowded=lambda: True)
    later = Window(WINDOW.start + timedelta(minutes=5), WINDOW.end + timedelta(minutes=5))
    await asyncio.gather(ask(logs, "orders"), ask(logs, "invoices", "platform_errors"),
                         ask(logs, "invoices", window=later))
    assert sorted(workspace.asked) == [("exit_codes", ("invoices",)), ("exit_codes", ("orders",)),
                                       ("platform_errors", ("invoices",))]


async def test_a_batch_its_cap_cut_is_asked_again_one_job_at_a_time() -> None:
    # exit_codes keeps 500 rows: 300 + 250 overflow a batch, so either job may have lost rows in it.
    workspace = Workspace([*rows_for("orders", each=300), *rows_for("invoices", each=250)], cap=500)
    logs = BatchedLogs(workspace, window_s=0.01, crowded=lambda: True)
    orders, invoices = await asyncio.gather(ask(logs, "orders"), ask(logs, "invoices"))
    assert workspace.asked[0] == ("exit_codes", ("invoices", "orders"))
    assert sorted(workspace.asked[1:]) == [("exit_codes", ("invoices",)), ("exit_codes", ("orders",))]
    assert len(orders.rows) == 300 and len(invoices.rows) == 250


async def test_an_error_reaches_every_ask_of_the_batch() -> None:
    workspace = Workspace(failure=UpstreamError("Log Analytics answered 500"))
    logs = BatchedLogs(workspace, window_s=0.01, crowded=lambda: True)
    answers = await asyncio.gather(ask(logs, "orders"), ask(logs, "invoices"), return_exceptions=True)
    assert [str(a) for a in answers] == ["Log Analytics answered 500"] * 2
    assert len(workspace.asked) == 1


async def test_one_ask_giving_up_does_not_cancel_the_others() -> None:
    workspace = Workspace(rows_for("orders", "invoices"))
    logs = BatchedLogs(workspace, window_s=0.01, crowded=lambda: True)
    impatient = asyncio.ensure_future(ask(logs, "orders"))
    patient = asyncio.ensure_future(ask(logs, "invoices"))
    await asyncio.sleep(0)
    impatient.cancel()
    assert [r["JobName"] for r in (await patient).rows] == ["invoices", "invoices"]


async def test_queries_that_are_not_batched_and_batching_off_go_straight_through() -> None:
    workspace = Workspace(rows_for("orders", "invoices"))
    off = BatchedLogs(workspace, window_s=0, crowded=lambda: True)
    await asyncio.gather(ask(off, "orders"), ask(off, "invoices"))
    assert sorted(workspace.asked) == [("exit_codes", ("invoices",)), ("exit_codes", ("orders",))]

    class Tables(Workspace):
        async def query(self, workspace_id: str, query_name: str, params: Mapping[str, object],
                        window: Window) -> QueryResult:
            self.asked.append((query_name, (str(params["job"]),)))
            return QueryResult(())

    tables = Tables()
    on = BatchedLogs(tables, window_s=LONG, crowded=lambda: True)
    await asyncio.wait_for(on.query("ws-1", "doctor_tables", {"job": "orders", "start": NOW, "end": NOW}, WINDOW),
                           timeout=LONG / 2)
    assert tables.asked == [("doctor_tables", ("orders",))]


def test_rows_of_a_job_drop_the_job_column_and_keep_the_order() -> None:
    result = QueryResult(({"JobName": "a", "N": 2}, {"JobName": "B", "N": 1}, {"JobName": "A", "N": 0}), "partial")
    assert rows_of(result, "a") == QueryResult(({"N": 2}, {"N": 0}), "partial")
    assert split_by_job(result, ["b", "c"]) == {"b": QueryResult(({"JobName": "B", "N": 1},), "partial"),
                                                 "c": QueryResult((), "partial")}


# -- one window for a storm (SharedReads) ---------------------------------------------------------------


def test_a_triage_of_another_job_started_during_a_storm_ends_its_window_with_it() -> None:
    timer = ManualClock(NOW)
    shared = SharedReads(timer, reuse_s=30)
    world = ManualClock(NOW)
    with shared.triage(JobSpec("orders"), world) as first:
        world.advance(timedelta(seconds=2))
        timer.advance(timedelta(seconds=2))
        assert shared.crowded() is False
        with shared.triage(JobSpec("invoices"), world) as second:
            assert shared.crowded() is True
            assert second.now == first.now == NOW
            with shared.triage(JobSpec("refunds"), world, fresh=True) as fresh:
                assert fresh.now == NOW + timedelta(seconds=2), "fresh reads take their own now"
        timer.advance(timedelta(seconds=STORM_S))
        with shared.triage(JobSpec("payments"), world) as late:
            assert late.now == NOW + timedelta(seconds=2), "too long after the storm began: its own now"


def test_no_shared_window_end_when_batching_is_off() -> None:
    shared = SharedReads(ManualClock(NOW), reuse_s=30, batch_window_s=0)
    world = ManualClock(NOW)
    with shared.triage(JobSpec("orders"), world):
        world.advance(timedelta(seconds=1))
        with shared.triage(JobSpec("invoices"), world) as second:
            assert second.now == NOW + timedelta(seconds=1)


def test_the_batch_window_cannot_be_negative() -> None:
    with pytest.raises(ValueError, match="0 \\(off\\) or more"):
        SharedReads(FixedClock(NOW), batch_window_s=-1)


async def test_config_changes_of_several_jobs_merge_their_lists_and_each_picks_its_own_rows() -> None:
    from bot.evidence.activity_scope import rows_concerning

    sub = "11111111-2222-3333-4444-555555555555"
    orders = f"/subscriptions/{sub}/resourcegroups/rg/providers/microsoft.app/jobs/orders"
    invoices = f"/subscriptions/{sub}/resourcegroups/rg/providers/microsoft.app/jobs/invoices"
    vault = f"/subscriptions/{sub}/resourcegroups/rg/providers/microsoft.keyvault/vaults/kv-orders"
    events = [
        {"ResourceId": orders, "OperationNameValue": "MICROSOFT.APP/JOBS/WRITE", "SubscriptionId": sub},
        {"ResourceId": invoices.upper(), "OperationNameValue": "MICROSOFT.APP/JOBS/WRITE", "SubscriptionId": sub},
        {"ResourceId": f"{vault}/secrets/db", "OperationNameValue": "Microsoft.KeyVault/vaults/secrets/write",
         "SubscriptionId": sub},
        {"ResourceId": f"/subscriptions/{sub}", "CategoryValue": "ServiceHealth", "SubscriptionId": sub},
        {"ResourceId": "/subscriptions/other", "CategoryValue": "ServiceHealth", "SubscriptionId": "other"},
    ]
    asked: list[Mapping[str, object]] = []

    class Activity(Workspace):
        async def query(self, workspace_id: str, query_name: str, params: Mapping[str, object],
                        window: Window) -> QueryResult:
            asked.append(params)
            return QueryResult(tuple(events))

    logs = BatchedLogs(Activity(), window_s=0.01, crowded=lambda: True)

    def params(resource_id: str, related: list[str]) -> dict[str, object]:
        return {"resource_ids": [resource_id], "related": related, "subscription_ids": [sub], "start": NOW, "end": NOW}

    first, second = await asyncio.gather(logs.query("ws-1", "config_changes", params(orders, ["kv-orders"]), WINDOW),
                                         logs.query("ws-1", "config_changes", params(invoices, []), WINDOW))
    assert len(asked) == 1
    assert asked[0]["resource_ids"] == sorted([orders, invoices]) and asked[0]["subscription_ids"] == [sub]
    assert asked[0]["related"] == ["kv-orders"]
    mine = rows_concerning(first, [orders], ["kv-orders"], sub).rows
    theirs = rows_concerning(second, [invoices], [], sub).rows
    assert [r["ResourceId"] for r in mine] == [orders, f"{vault}/secrets/db", f"/subscriptions/{sub}"]
    assert [r["ResourceId"] for r in theirs] == [invoices.upper(), f"/subscriptions/{sub}"]
    assert all("SubscriptionId" not in r for r in (*mine, *theirs)), "the column only the split needs is gone"
