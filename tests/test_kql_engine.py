"""The canned queries run on duckdb-kql (the emulator's engine) and answer the questions they claim to.

Tables come from kql/schema.json. Each scenario writes the same events for the job under test and for
noisy neighbours, in the Log Analytics (`_CL`) layout, the resource-specific layout, or both mixed:
the answers must be the same every time. Together with test_kql_files.py (Kusto.Language accepts the
very same files) this shows the files run on both engines.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb_kql
import pytest
from duckdb_kql.types import kusto_type

from bot.emulator.kql_readback import split_rendered
from bot.kql import load_query, render

ROOT = Path(__file__).resolve().parents[1]
SCHEMA: dict[str, dict[str, str]] = json.loads((ROOT / "kql" / "schema.json").read_text("utf-8"))["tables"]
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "datetime": "TIMESTAMP",
    "long": "BIGINT",
    "int": "INTEGER",
    "real": "DOUBLE",
    "bool": "BOOLEAN",
    "dynamic": "JSON",
    "timespan": "INTERVAL",
    "guid": "UUID",
}

NOW = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)
START, END = datetime(2026, 11, 28, 10, 0, tzinfo=UTC), datetime(2026, 11, 28, 10, 59, tzinfo=UTC)
JOB = "orders-processor"
ASKED_AS = "Orders-Processor"  # Azure compares names case-insensitively
NEIGHBOURS = ["orders-processor-v2", "billing-export"]  # one shares the job's prefix
SUB = "6f1c2b3a-0000-4000-8000-00000000a11e"
RG = f"/subscriptions/{SUB}/resourcegroups/rg-orders/providers/microsoft.app"
JOB_ID, ENV_ID = f"{RG}/jobs/{JOB}", f"{RG}/managedenvironments/cae-orders"
STORAGE = (
    f"/subscriptions/{SUB}/resourcegroups/rg-orders/providers/microsoft.storage/storageaccounts/storders"
)
QUEUE = f"{STORAGE}/queueservices/default/queues/orders"
VAULT = f"/subscriptions/{SUB}/resourceGroups/rg-shared/providers/Microsoft.KeyVault/vaults/kv-orders"

EXEC_A = f"{JOB}-a1b2c3d"  # OOM-killed twice, then the backoff limit
EXEC_B = f"{JOB}-e5f6g7h"  # succeeded
EXEC_C = f"{JOB}-k8m9n0p"  # failed once, the retry succeeded
EXEC_Q = f"{JOB}-q1w2e3r"  # image pull failed
EXEC_S = f"{JOB}-s1t2u3v"  # could not be scheduled
LAYOUTS = ["cl", "resource", "mixed"]
PULL_FAILED = 'Failed to pull image "contoso.azurecr.io/orders:1.5.0": unauthorized: authentication required'
REFUSED = "ERROR connection to db-{}.internal:5432 refused (request {})"


def at(minute: int, second: int = 0) -> datetime:
    """A time in the window as DuckDB stores it: naive UTC."""
    return datetime(2026, 11, 28, 10, minute, second)


def exit_message(code: int, reason: str = "ProcessExited") -> str:
    return f"Container 'worker' was terminated with exit code '{code}' and reason '{reason}'"


# --- tables and writers ------------------------------------------------------------------------------


def connect() -> Any:
    """A duckdb-kql connection holding every table of kql/schema.json, empty."""
    connection = duckdb_kql.connect()
    for table, columns in SCHEMA.items():
        cols = ", ".join(f'"{name}" {DUCKDB_TYPES[kind]}' for name, kind in columns.items())
        connection.execute(f'CREATE TABLE "{table}" ({cols})')
    return connection


@pytest.fixture
def con() -> Iterator[Any]:
    connection = connect()
    yield connection
    connection.close()


def insert(con: Any, table: str, row: dict[str, object]) -> None:
    names = ", ".join(f'"{k}"' for k in row)
    marks = ", ".join("?" for _ in row)
    con.execute(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', list(row.values()))


@dataclass
class Writer:
    """Writes events in one layout ("cl", "resource") or alternating between them ("mixed")."""

    con: Any
    layout: str
    count: int = field(default=0)

    def _cl(self) -> bool:
        self.count += 1
        return self.layout == "cl" or (self.layout == "mixed" and self.count % 2 == 1)

    def system(
        self,
        t: datetime,
        job: str,
        reason: str,
        log: str,
        *,
        replica: str = "",
        execution: str = "",
        kind: str = "Normal",
    ) -> None:
        """A system-log event. `execution` without `replica` is an event about the execution itself."""
        if self._cl():
            row: dict[str, object] = {
                "TimeGenerated": t,
                "JobName_s": job,
                "ExecutionName_s": execution or (replica.rsplit("-", 1)[0] if replica else ""),
                "ReplicaName_s": replica,
                "Reason_s": reason,
                "Type_s": kind,
                "Log_s": log,
                "EventSource_s": "ContainerAppController",
                "EnvironmentName_s": "cae-orders",
                "Type": "ContainerAppSystemLogs_CL",
                "_ResourceId": ENV_ID,
            }
            insert(self.con, "ContainerAppSystemLogs_CL", row)
        else:
            # No execution column here: an event about the execution carries its name as the replica.
            row = {
                "TimeGenerated": t,
                "JobName": job,
                "ReplicaName": replica or execution,
                "Reason": reason,
                "Type": kind,
                "Log": log,
                "EventSource": "ContainerAppController",
                "EnvironmentName": "cae-orders",
                "_ResourceId": ENV_ID,
            }
            insert(self.con, "ContainerAppSystemLogs", row)

    def console(self, t: datetime, job: str, replica: str, stream: str, log: str) -> None:
        if self._cl():
            row: dict[str, object] = {
                "TimeGenerated": t,
                "ContainerJobName_s": job,
                "ContainerGroupName_s": replica,
                "ContainerName_s": "worker",
                "ContainerImage_s": "contoso.azurecr.io/orders:1.5.0",
                "Stream_s": stream,
                "Log_s": log,
                "Type": "ContainerAppConsoleLogs_CL",
                "_ResourceId": ENV_ID,
            }
            insert(self.con, "ContainerAppConsoleLogs_CL", row)
        else:
            row = {
                "TimeGenerated": t,
                "JobName": job,
                "ContainerGroupName": replica,
                "ContainerName": "worker",
                "ContainerImage": "contoso.azurecr.io/orders:1.5.0",
                "Stream": stream,
                "Log": log,
                "Type": "ContainerAppConsoleLogs",
                "_ResourceId": ENV_ID,
            }
            insert(self.con, "ContainerAppConsoleLogs", row)


def seed_system(w: Writer) -> None:
    j = JOB
    w.system(at(0), j, "ContainerStarted", "Started container 'worker'", replica=f"{EXEC_A}-x1")
    w.system(at(2), j, "ProcessExited", exit_message(137), replica=f"{EXEC_A}-x1", kind="Warning")
    w.system(at(5), j, "ProcessExited", exit_message(137), replica=f"{EXEC_A}-x2", kind="Warning")
    w.system(
        at(6),
        j,
        "BackoffLimitExceeded",
        "Job has reached the specified backoff limit",
        execution=EXEC_A,
        kind="Warning",
    )
    w.system(at(10), j, "ContainerTerminated", exit_message(0, "Completed"), replica=f"{EXEC_B}-y1")
    w.system(at(10, 30), j, "Completed", "Job completed", execution=EXEC_B)
    w.system(at(12), j, "ProcessExited", exit_message(1), replica=f"{EXEC_C}-z1", kind="Warning")
    w.system(at(15), j, "ContainerTerminated", exit_message(0, "Completed"), replica=f"{EXEC_C}-z2")
    scaler = "KEDA scaler 'orders-queue' failed: unauthorized: queue 'orders' cannot be read"
    w.system(at(20), j, "KEDAScalerFailed", scaler, kind="Warning")
    w.system(at(21), j, "KEDAScalerFailed", scaler, kind="Warning")
    w.system(at(22), j, "ErrImagePull", PULL_FAILED, replica=f"{EXEC_Q}-p1", kind="Warning")
    nodes = "0/4 nodes are available: 4 Insufficient memory."
    w.system(at(25), j, "FailedScheduling", nodes, replica=f"{EXEC_S}-r1", kind="Warning")
    secret = (
        "Unable to get value using Managed identity system for secret db-password. Error: unable to fetch "
        "secret 'db-password' using Managed identity 'system'"
    )
    w.system(at(26), j, "SecretFetchFailed", secret, kind="Warning")
    w.system(
        at(27), j, "VolumeMountFailure", "Volume mount failed: share 'reports' not found", kind="Warning"
    )
    w.system(
        at(28), j, "PullingImage", 'Pulling image "contoso.azurecr.io/orders:1.5.0"', replica=f"{EXEC_Q}-p1"
    )
    # Outside the window.
    w.system(at(0) - timedelta(hours=2), j, "ProcessExited", exit_message(137), replica=f"{JOB}-old0000-o1")
    w.system(END.replace(tzinfo=None) + timedelta(minutes=5), j, "KEDAScalerFailed", scaler, kind="Warning")
    # Neighbours: everything again, and more of it.
    for other in NEIGHBOURS:
        for minute in (3, 4, 7):
            w.system(
                at(minute),
                other,
                "ProcessExited",
                exit_message(137),
                replica=f"{other}-n1-{minute}",
                kind="Warning",
            )
        w.system(
            at(8), other, "BackoffLimitExceeded", "backoff limit", execution=f"{other}-n1", kind="Warning"
        )
        w.system(at(9), other, "KEDAScalerFailed", "KEDA scaler failed", kind="Warning")
        w.system(
            at(9), other, "ErrImagePull", "Failed to pull image", replica=f"{other}-n2-1", kind="Warning"
        )


def seed_console(w: Writer) -> None:
    j = JOB
    w.console(at(1), j, f"{EXEC_A}-x1", "stdout", "processing message 4711")
    w.console(at(1, 30), j, f"{EXEC_A}-x1", "stderr", "MemoryError: unable to allocate 512 MiB for batch 42")
    w.console(at(4), j, f"{EXEC_A}-x2", "stderr", "MemoryError: unable to allocate 768 MiB for batch 43")
    w.console(at(4, 30), j, f"{EXEC_A}z-x9", "stdout", "another execution whose name extends A's")
    w.console(
        at(12),
        j,
        f"{EXEC_C}-z1",
        "stdout",
        REFUSED.format("7f3a9c1e2b", "3f2a9c1e-1111-2222-3333-444455556666"),
    )
    w.console(
        at(13),
        j,
        f"{EXEC_B}-y1",
        "stdout",
        REFUSED.format("0a1b2c3d4e", "9f2a9c1e-aaaa-bbbb-cccc-444455556667"),
    )
    w.console(at(14), j, f"{EXEC_B}-y1", "stdout", "done in 1532 ms")
    w.console(at(14, 30), j, f"{EXEC_B}-y1", "stdout", "request took 5003ms")  # `has "500"` is a whole term
    w.console(at(15), j, f"{EXEC_C}-z2", "stdout", "HTTP 503 from upstream")
    w.console(at(0) - timedelta(hours=2), j, f"{EXEC_A}-x1", "stderr", "old: Segmentation fault")
    for other in NEIGHBOURS:
        w.console(
            at(2), other, f"{other}-n1-1", "stderr", "MemoryError: unable to allocate 512 MiB for batch 42"
        )
        w.console(at(3), other, f"{other}-n1-1", "stdout", "FATAL: cannot connect")
        w.console(at(3), other, f"{EXEC_A}-x1", "stderr", "a neighbour's replica named like ours")


def seed_activity(con: Any) -> None:
    def event(
        t: datetime, category: str, operation: str, resource: str, sub: str = SUB, **extra: object
    ) -> None:
        row: dict[str, object] = {
            "TimeGenerated": t,
            "CategoryValue": category,
            "OperationNameValue": operation,
            "ActivityStatusValue": "Succeeded",
            "Caller": "alice@contoso.com",
            "CorrelationId": f"corr-{t:%H%M}",
            "Properties_d": json.dumps({"statusCode": "OK", "entity": resource}),
            "_ResourceId": resource,
            "SubscriptionId": sub,
            "Type": "AzureActivity",
            **extra,
        }
        insert(con, "AzureActivity", row)

    upper_job_id = JOB_ID.replace("microsoft.app/jobs", "Microsoft.App/jobs")
    event(at(3), "Administrative", "MICROSOFT.APP/JOBS/WRITE", upper_job_id)  # casing differs in the wild
    event(at(1), "Administrative", "Microsoft.App/managedEnvironments/write", ENV_ID)
    event(
        at(2),
        "ServiceHealth",
        "Microsoft.ServiceHealth/incident/action",
        f"/subscriptions/{SUB}",
        sub=SUB.upper(),
    )
    event(
        at(4),
        "ResourceHealth",
        "Microsoft.Resourcehealth/healthevent/Activated/action",
        f"{RG}/jobs/neighbour",
    )
    # What the job depends on: a child of a listed resource, and access changes in its subscription.
    event(at(7), "Administrative", "Microsoft.Storage/storageAccounts/queueServices/queues/write", QUEUE)
    vault_role = f"{VAULT}/providers/Microsoft.Authorization/roleAssignments/461a638f"
    event(at(8), "Administrative", "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/DELETE", vault_role)
    # Not ours.
    event(at(5), "Administrative", "MICROSOFT.APP/JOBS/WRITE", f"{RG}/jobs/{NEIGHBOURS[0]}")
    event(at(9), "Administrative", "Microsoft.Storage/storageAccounts/write", f"{STORAGE}x")
    other_vault = "/subscriptions/other/resourcegroups/rg/providers/microsoft.keyvault/vaults/kv-x"
    event(
        at(10), "Administrative", "Microsoft.KeyVault/vaults/accessPolicies/write", other_vault, sub="other"
    )
    event(
        at(6), "ServiceHealth", "Microsoft.ServiceHealth/incident/action", "/subscriptions/other", sub="other"
    )
    event(at(0) - timedelta(hours=3), "Administrative", "MICROSOFT.APP/JOBS/WRITE", JOB_ID)


def run(con: Any, name: str, **values: object) -> list[dict[str, Any]]:
    """Render like the bot, recognise like the emulator, execute on duckdb-kql. A batched query is asked
    for the one job given, and its rows must all be that job's (the job column is then dropped)."""
    job = values.get("job")
    batched = load_query(name).batched
    if batched:
        values = {**{k: v for k, v in values.items() if k != "job"}, "jobs": [job]}
    subscription = values.pop("subscription_id", None) if load_query(name).batch == "lists" else None
    if subscription is not None:
        values["subscription_ids"] = [subscription]
    text = render(name, **values)
    assert split_rendered(text) is not None
    relation = duckdb_kql.query(con, text, query_now=NOW)
    rows = [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
    if batched:
        assert all(str(row.pop("JobName")).lower() == str(job).lower() for row in rows)
    if subscription is not None:  # the column only tells batched asks apart
        assert all(row.pop("SubscriptionId") for row in rows)
    for row in rows:
        for column, value in row.items():
            if isinstance(value, str) and column in ("Reasons", "ExitCodes"):
                row[column] = json.loads(value)
    return rows


def job_window(job: str = ASKED_AS) -> dict[str, object]:
    return {"job": job, "start": START, "end": END}


def jobs_window(*jobs: str) -> dict[str, object]:
    return {"jobs": list(jobs or [ASKED_AS]), "start": START, "end": END}


@pytest.fixture(params=["cl", "resource"])
def seeded(request: pytest.FixtureRequest, con: Any) -> Any:
    writer = Writer(con, request.param)
    seed_system(writer)
    seed_console(writer)
    seed_activity(con)
    return con


@pytest.fixture
def mixed(con: Any) -> Any:
    """One seeding, rows alternating between the two layouts."""
    writer = Writer(con, "mixed")
    seed_system(writer)
    seed_console(writer)
    seed_activity(con)
    return con


# --- the queries -------------------------------------------------------------------------------------


def test_failed_executions(seeded: Any) -> None:
    rows = run(seeded, "failed_executions", **job_window())  # newest LastSeen first
    for row in rows:
        row["Reasons"] = sorted(row["Reasons"])
    assert rows == [
        {
            "ExecutionName": EXEC_Q,
            "Attempts": 1,
            "FailedAttempts": 1,
            "Reasons": ["ErrImagePull"],
            "ExitCodes": [],
            "FirstSeen": at(22),
            "LastSeen": at(28),
            "LastMessage": PULL_FAILED,
        },
        {
            "ExecutionName": EXEC_S,
            "Attempts": 1,
            "FailedAttempts": 1,
            "Reasons": ["FailedScheduling"],
            "ExitCodes": [],
            "FirstSeen": at(25),
            "LastSeen": at(25),
            "LastMessage": "0/4 nodes are available: 4 Insufficient memory.",
        },
        {
            "ExecutionName": EXEC_C,
            "Attempts": 2,
            "FailedAttempts": 1,
            "Reasons": ["ProcessExited"],
            "ExitCodes": [1],
            "FirstSeen": at(12),
            "LastSeen": at(15),
            "LastMessage": exit_message(1),
        },
        {
            "ExecutionName": EXEC_A,
            "Attempts": 2,
            "FailedAttempts": 2,
            "Reasons": ["BackoffLimitExceeded", "ProcessExited"],
            "ExitCodes": [137],
            "FirstSeen": at(0),
            "LastSeen": at(6),
            "LastMessage": "Job has reached the specified backoff limit",
        },
    ]


def test_exit_codes(seeded: Any) -> None:
    rows = run(seeded, "exit_codes", **job_window())
    assert sorted(rows, key=lambda r: r["ExitCode"]) == [
        {"ExitCode": 0, "Count": 2, "Executions": 2, "LastSeen": at(15), "SampleExecution": EXEC_C},
        {"ExitCode": 1, "Count": 1, "Executions": 1, "LastSeen": at(12), "SampleExecution": EXEC_C},
        {"ExitCode": 137, "Count": 2, "Executions": 1, "LastSeen": at(5), "SampleExecution": EXEC_A},
    ]
    assert [r["Count"] for r in rows] == [2, 2, 1]  # most frequent first


def test_platform_errors(seeded: Any) -> None:
    rows = run(seeded, "platform_errors", **job_window())
    by_category = {r["Category"]: r for r in rows}
    assert len(rows) == len(by_category) == 5
    assert by_category["scaler"] == {
        "Category": "scaler",
        "Reason": "KEDAScalerFailed",
        "Count": 2,
        "Executions": 0,
        "FirstSeen": at(20),
        "LastSeen": at(21),
        "Sample": "KEDA scaler 'orders-queue' failed: unauthorized: queue 'orders' cannot be read",
    }
    assert (by_category["image-pull"]["Reason"], by_category["image-pull"]["Executions"]) == (
        "ErrImagePull",
        1,
    )
    assert by_category["capacity"]["Reason"] == "FailedScheduling"
    assert by_category["identity"]["Reason"] == "SecretFetchFailed"
    assert by_category["identity"]["Sample"].endswith("using Managed identity 'system'")
    assert (by_category["other"]["Reason"], by_category["other"]["Count"]) == ("VolumeMountFailure", 1)
    assert rows[0]["Category"] == "scaler"  # most frequent first


def test_console_errors(seeded: Any) -> None:
    # Raw candidate rows, newest first: Python (bot/evidence/console) parses, groups and classifies them.
    rows = run(seeded, "console_errors", **job_window())
    assert rows == [
        {"TimeGenerated": at(15), "ReplicaName": f"{EXEC_C}-z2", "ExecutionName": EXEC_C, "Stream": "stdout",
         "Log": "HTTP 503 from upstream"},
        {"TimeGenerated": at(13), "ReplicaName": f"{EXEC_B}-y1", "ExecutionName": EXEC_B, "Stream": "stdout",
         "Log": REFUSED.format("0a1b2c3d4e", "9f2a9c1e-aaaa-bbbb-cccc-444455556667")},
        {"TimeGenerated": at(12), "ReplicaName": f"{EXEC_C}-z1", "ExecutionName": EXEC_C, "Stream": "stdout",
         "Log": REFUSED.format("7f3a9c1e2b", "3f2a9c1e-1111-2222-3333-444455556666")},
        {"TimeGenerated": at(4), "ReplicaName": f"{EXEC_A}-x2", "ExecutionName": EXEC_A, "Stream": "stderr",
         "Log": "MemoryError: unable to allocate 768 MiB for batch 43"},
        {"TimeGenerated": at(1, 30), "ReplicaName": f"{EXEC_A}-x1", "ExecutionName": EXEC_A, "Stream": "stderr",
         "Log": "MemoryError: unable to allocate 512 MiB for batch 42"},
    ]


def test_console_errors_keeps_the_lines_of_a_trace_and_breaks_ties_by_replica(con: Any) -> None:
    w = Writer(con, "mixed")
    trace = ["Traceback (most recent call last):", '  File "/app/worker.py", line 3, in <module>',
             "    main()", "KeyError: 'id'"]
    for i, line in enumerate(trace):
        w.console(at(20, i), JOB, f"{EXEC_A}-x1", "stdout", line)
    for replica in (f"{EXEC_C}-b", f"{EXEC_C}-a"):
        w.console(at(30), JOB, replica, "stdout", "java.lang.IllegalStateException: boom")
    w.console(at(31), JOB, f"{EXEC_C}-a", "stdout", "\tat com.contoso.Worker.run(Worker.java:42)")
    w.console(at(32), JOB, f"{EXEC_C}-a", "stdout", "Caused by: java.net.ConnectException: Connection refused")
    w.console(at(33), JOB, f"{EXEC_C}-a", "stdout", "all good")
    rows = run(con, "console_errors", **job_window())
    assert [(r["TimeGenerated"], r["ReplicaName"], r["Log"]) for r in rows] == [
        (at(32), f"{EXEC_C}-a", "Caused by: java.net.ConnectException: Connection refused"),
        (at(31), f"{EXEC_C}-a", "\tat com.contoso.Worker.run(Worker.java:42)"),
        (at(30), f"{EXEC_C}-a", "java.lang.IllegalStateException: boom"),
        (at(30), f"{EXEC_C}-b", "java.lang.IllegalStateException: boom"),
        *[(at(20, i), f"{EXEC_A}-x1", line) for i, line in reversed(list(enumerate(trace)))],
    ]


def test_console_tail(seeded: Any) -> None:
    rows = run(seeded, "console_tail", job=ASKED_AS, execution=EXEC_A, start=START, end=END)
    assert rows == [
        {
            "TimeGenerated": at(4),
            "ReplicaName": f"{EXEC_A}-x2",
            "ContainerName": "worker",
            "Stream": "stderr",
            "Log": "MemoryError: unable to allocate 768 MiB for batch 43",
        },
        {
            "TimeGenerated": at(1, 30),
            "ReplicaName": f"{EXEC_A}-x1",
            "ContainerName": "worker",
            "Stream": "stderr",
            "Log": "MemoryError: unable to allocate 512 MiB for batch 42",
        },
        {
            "TimeGenerated": at(1),
            "ReplicaName": f"{EXEC_A}-x1",
            "ContainerName": "worker",
            "Stream": "stdout",
            "Log": "processing message 4711",
        },
    ]


def test_config_changes(seeded: Any) -> None:
    ids = [JOB_ID, ENV_ID, STORAGE]
    rows = run(seeded, "config_changes", resource_ids=ids, related=[], subscription_id=SUB, start=START, end=END)
    assert [(r["TimeGenerated"], r["CategoryValue"], r["ResourceId"]) for r in rows] == [
        (at(8), "Administrative", f"{VAULT}/providers/Microsoft.Authorization/roleAssignments/461a638f"),
        (at(7), "Administrative", QUEUE),
        (at(4), "ResourceHealth", f"{RG}/jobs/neighbour"),
        (at(3), "Administrative", JOB_ID.replace("microsoft.app/jobs", "Microsoft.App/jobs")),
        (at(2), "ServiceHealth", f"/subscriptions/{SUB}"),
        (at(1), "Administrative", ENV_ID),
    ]
    job_write = rows[3]
    assert job_write["OperationNameValue"] == "MICROSOFT.APP/JOBS/WRITE"
    assert (job_write["ActivityStatusValue"], job_write["Caller"], job_write["CorrelationId"]) == (
        "Succeeded",
        "alice@contoso.com",
        "corr-1003",
    )
    assert json.loads(job_write["Properties"]) == {"statusCode": "OK", "entity": job_write["ResourceId"]}


def test_config_changes_with_no_resource_ids(seeded: Any) -> None:
    rows = run(seeded, "config_changes", resource_ids=[], related=[], subscription_id="nobody", start=START, end=END)
    assert rows == []


def test_config_changes_finds_changes_on_what_the_job_depends_on_by_name(seeded: Any) -> None:
    # The storage account a scale rule reads is known by name only; its key rotation must still show up.
    account = STORAGE.rstrip("/").rsplit("/", 1)[-1]
    rows = run(seeded, "config_changes", resource_ids=[JOB_ID], related=[account.lower()], subscription_id=SUB,
               start=START, end=END)
    assert any(r["ResourceId"].lower() == QUEUE.lower() for r in rows)
    unrelated = run(seeded, "config_changes", resource_ids=[JOB_ID], related=["no-such-account"],
                    subscription_id=SUB, start=START, end=END)
    assert not any(r["ResourceId"].lower() == QUEUE.lower() for r in unrelated)


@pytest.mark.parametrize("name", ["failed_executions", "exit_codes", "platform_errors", "console_errors"])
def test_a_neighbour_sees_only_its_own_rows(mixed: Any, name: str) -> None:
    ours = run(mixed, name, **job_window())
    theirs = run(mixed, name, **job_window(NEIGHBOURS[0]))
    assert ours and theirs and ours != theirs
    # console_errors returns raw rows: a neighbour's replica may be named like ours, its lines are its own
    text = json.dumps([{k: v for k, v in r.items() if k not in ("ReplicaName", "ExecutionName")} for r in theirs],
                      default=str)
    assert JOB + "-" not in text.replace(NEIGHBOURS[0], "")


def test_an_unknown_job_gets_nothing(mixed: Any) -> None:
    for query in ("failed_executions", "exit_codes", "platform_errors", "console_errors"):
        assert run(mixed, query, **job_window("no-such-job")) == []
    assert run(mixed, "console_tail", job="no-such-job", execution=EXEC_A, start=START, end=END) == []


# --- the same answer whatever the log destination ----------------------------------------------------


def all_answers(con: Any) -> dict[str, list[str]]:
    calls: dict[str, dict[str, object]] = {
        "failed_executions": job_window(),
        "exit_codes": job_window(),
        "platform_errors": job_window(),
        "console_errors": job_window(),
        "console_tail": {"job": JOB, "execution": EXEC_C, "start": START, "end": END},
    }
    answers = {}
    for name, values in calls.items():
        rows = run(con, name, **values)
        for row in rows:
            for key in ("Reasons", "ExitCodes"):
                if key in row:
                    row[key] = sorted(row[key])
        answers[name] = sorted(json.dumps(r, default=str, sort_keys=True) for r in rows)
    return answers


def test_every_layout_gives_the_same_answers() -> None:
    answers = []
    for layout in LAYOUTS:
        connection = connect()
        writer = Writer(connection, layout)
        seed_system(writer)
        seed_console(writer)
        answers.append(all_answers(connection))
        connection.close()
    assert answers[0] == answers[1] == answers[2]
    assert all(answers[0].values())


# --- shape ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["failed_executions", "exit_codes", "platform_errors", "console_errors"])
def test_empty_tables_give_no_rows(con: Any, name: str) -> None:
    assert run(con, name, **job_window()) == []


def _declared_returns(name: str) -> list[tuple[str, str]]:
    line = next(ln for ln in load_query(name).text.splitlines() if ln.startswith("// returns:"))
    return [
        (c.split(":")[0].strip(), c.split(":")[1].strip())
        for c in line.removeprefix("// returns:").split(",")
    ]


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("failed_executions", jobs_window()),
        ("exit_codes", jobs_window()),
        ("platform_errors", jobs_window()),
        ("console_errors", jobs_window()),
        ("console_tail", {"job": JOB, "execution": EXEC_A, "start": START, "end": END}),
        ("config_changes", {"resource_ids": [JOB_ID], "related": [], "subscription_ids": [SUB], "start": START,
                            "end": END}),
        ("execution_durations", job_window()),
        ("log_volume", job_window()),
        ("message_reprocessing", {**job_window(), "message_id_regex": r"batch (\d+)"}),
    ],
)
def test_result_columns_have_the_declared_names_and_kusto_types(
    mixed: Any, name: str, values: dict[str, object]
) -> None:
    relation = duckdb_kql.query(mixed, render(name, **values), query_now=NOW)
    got = [(column, kusto_type(t)) for column, t in zip(relation.columns, relation.types, strict=True)]
    assert got == _declared_returns(name)
    assert relation.fetchall(), f"{name} returned no rows on the seeded tables"


# --- the review's reads (issue 12) -------------------------------------------------------------------

EXEC_R = f"{JOB}-r4t5y6u"  # created, pulled its image, started


def seed_startup(w: Writer) -> None:
    replica = f"{EXEC_R}-s1"
    w.system(at(40), JOB, "SuccessfulCreate", f"Created pod: {replica}", replica=replica)
    w.system(at(40, 5), JOB, "PullingImage", 'Pulling image "contoso.azurecr.io/orders:1.5.0"', replica=replica)
    w.system(at(40, 50), JOB, "PulledImage", "Successfully pulled image", replica=replica)
    w.system(at(41), JOB, "ContainerStarted", "Started container 'worker'", replica=replica)
    # A retry's replica of the same execution: the first create and start count.
    w.system(at(45), JOB, "SuccessfulCreate", "Created pod", replica=f"{EXEC_R}-s2")
    w.system(at(45, 2), JOB, "ContainerStarted", "Started container 'worker'", replica=f"{EXEC_R}-s2")
    w.system(at(40), NEIGHBOURS[0], "SuccessfulCreate", "Created pod", replica=f"{NEIGHBOURS[0]}-n9-1")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_execution_durations(con: Any, layout: str) -> None:
    w = Writer(con, layout)
    seed_system(w)
    seed_startup(w)
    rows = run(con, "execution_durations", **job_window())
    assert rows == [
        {"ExecutionName": EXEC_Q, "Created": None, "Started": None, "PullStarted": at(28), "Pulled": None},
        {"ExecutionName": EXEC_R, "Created": at(40), "Started": at(41), "PullStarted": at(40, 5),
         "Pulled": at(40, 50)},
    ]


def test_log_volume_sums_the_billed_size_of_the_jobs_records_per_day(con: Any) -> None:
    day = datetime(2026, 11, 27, 10, 0)
    insert(con, "ContainerAppSystemLogs_CL", {"TimeGenerated": at(1), "JobName_s": JOB, "_BilledSize": 300.0})
    insert(con, "ContainerAppSystemLogs", {"TimeGenerated": at(2), "JobName": ASKED_AS, "_BilledSize": 200.0})
    insert(con, "ContainerAppConsoleLogs_CL", {"TimeGenerated": at(3), "ContainerJobName_s": JOB,
                                               "_BilledSize": 1000.0})
    insert(con, "ContainerAppConsoleLogs", {"TimeGenerated": day, "JobName": JOB, "_BilledSize": 4000.0})
    insert(con, "ContainerAppConsoleLogs", {"TimeGenerated": at(4), "JobName": NEIGHBOURS[0], "_BilledSize": 9e9})
    rows = run(con, "log_volume", job=JOB, start=START - timedelta(days=1, hours=1), end=END)
    assert rows == [
        {"Day": datetime(2026, 11, 27), "BilledBytes": 4000.0, "Records": 1},
        {"Day": datetime(2026, 11, 28), "BilledBytes": 1500.0, "Records": 3},
    ]


LEAKS = {
    "conn: DefaultEndpointsProtocol=https;AccountName=st;AccountKey=c2VjcmV0LWtleS12YWx1ZQ==": "secret-assignment",
    'config {"db_password": "hunter2-but-longer"}': "secret-assignment",
    "calling with Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345": "authorization-header",
    "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl": "jwt",
    "db: postgres://app:Sup3rS3cret@db.internal:5432/ledger": "url-password",
    "-----BEGIN RSA PRIVATE KEY-----": "private-key",
    "slack xoxb-1111-2222-abcdefghijkl": "slack-token",
    "gh ghp_abcdefghijklmnopqrstuvwxyz0123": "github-token",
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_secret_shaped_logs_counts_each_kind_and_never_returns_a_line(con: Any, layout: str) -> None:
    w = Writer(con, layout)
    seed_console(w)  # ordinary error lines: none is credential-shaped
    for i, line in enumerate(LEAKS):
        w.console(at(30, i), JOB, f"{EXEC_B}-y1" if i % 2 else f"{EXEC_C}-z1", "stdout", line)
    w.console(at(31), NEIGHBOURS[0], f"{NEIGHBOURS[0]}-n1-1", "stdout", "password=neighbours-own")
    rows = run(con, "secret_shaped_logs", **job_window())
    kinds = {r["Kind"]: r["Lines"] for r in rows}
    expected: dict[str, int] = {}
    for kind in LEAKS.values():
        expected[kind] = expected.get(kind, 0) + 1
    assert kinds == expected
    assert rows[0]["Kind"] == "secret-assignment" and rows[0]["Executions"] == 2
    text = json.dumps(rows, default=str)
    assert not any(fragment in text for fragment in ("c2VjcmV0", "hunter2", "Sup3rS3cret", "abcdefghijkl"))


def test_secret_shaped_logs_leaves_ordinary_lines_alone(con: Any) -> None:
    w = Writer(con, "mixed")
    seed_console(w)
    for line in ("queueName=orders processed", "design=flat", "tokens counted: 42", "passed 3 of 3 checks",
                 "user alice@contoso.com signed in", "https://contoso.blob.core.windows.net/reports/x.csv"):
        w.console(at(30), JOB, f"{EXEC_B}-y1", "stdout", line)
    assert run(con, "secret_shaped_logs", **job_window()) == []


@pytest.mark.parametrize("layout", LAYOUTS)
def test_message_reprocessing_counts_messages_seen_in_more_than_one_execution(con: Any, layout: str) -> None:
    w = Writer(con, layout)
    seed_console(w)
    handled = [(EXEC_A, "m-1"), (EXEC_A, "m-2"), (EXEC_B, "m-1"), (EXEC_C, "m-1"), (EXEC_C, "m-3"), (EXEC_C, "m-3")]
    for i, (execution, message) in enumerate(handled):
        w.console(at(30, i), JOB, f"{execution}-x1", "stdout", f"handling message id={message}")
    w.console(at(31), NEIGHBOURS[0], f"{NEIGHBOURS[0]}-n1-1", "stdout", "handling message id=m-2")
    rows = run(con, "message_reprocessing", **job_window(), message_id_regex=r"message id=([\w-]+)")
    # m-1 in three executions (two extra), m-2 once, m-3 twice in one execution (not a duplicate).
    assert rows == [{"Messages": 3, "Duplicated": 1, "ExtraExecutions": 2}]


def test_audit_activity_finds_secret_reads_and_role_changes_at_the_given_scopes(con: Any) -> None:
    group = f"/subscriptions/{SUB}/resourceGroups/rg-orders"

    def event(minute: int, operation: str, resource: str, caller: str = "alice@contoso.com") -> None:
        insert(con, "AzureActivity", {"TimeGenerated": at(minute), "OperationNameValue": operation,
                                      "ActivityStatusValue": "Succeeded", "Caller": caller,
                                      "CorrelationId": f"corr-{minute}", "_ResourceId": resource,
                                      "CategoryValue": "Administrative"})

    event(1, "MICROSOFT.APP/JOBS/LISTSECRETS/ACTION", JOB_ID.replace("microsoft.app/jobs", "Microsoft.App/jobs"))
    event(2, "Microsoft.Authorization/roleAssignments/write",
          f"{VAULT}/providers/Microsoft.Authorization/roleAssignments/1f2e", "pipeline-sp")
    event(3, "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/DELETE",
          f"{group}/providers/Microsoft.Authorization/roleAssignments/2a3b")
    # Not ours: a neighbour's secrets, an assignment on another vault, and a job write.
    event(4, "Microsoft.App/jobs/listSecrets/action", f"{RG}/jobs/{NEIGHBOURS[0]}")
    event(5, "Microsoft.Authorization/roleAssignments/write",
          f"{VAULT}-x/providers/Microsoft.Authorization/roleAssignments/3c4d")
    event(6, "MICROSOFT.APP/JOBS/WRITE", JOB_ID)
    rows = run(con, "audit_activity", resource_ids=[JOB_ID.lower()], scopes=[JOB_ID.lower(), group.lower(),
               VAULT.lower()], start=START, end=END)
    assert [(r["TimeGenerated"], r["Caller"], r["CorrelationId"]) for r in rows] == [
        (at(3), "alice@contoso.com", "corr-3"), (at(2), "pipeline-sp", "corr-2"),
        (at(1), "alice@contoso.com", "corr-1")]
