"""The console parser (bot/evidence/console): prefixes, JSON lines, levels, events, scrubbing, normalising."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.evidence.console.events import ConsoleRow, group_events, root_cause
from bot.evidence.console.lines import Level, level_of, parse_line
from bot.evidence.console.normalise import normalise
from bot.evidence.console.scrub import MARKER, scrub
from bot.evidence.console.summary import Signature, summarise_console
from bot.evidence.signatures import ErrorKind

T0 = datetime(2026, 11, 28, 9, 26, 13, tzinfo=UTC)
MESSAGE = "psycopg.OperationalError: connection failed: Connection refused"


@pytest.mark.parametrize(
    ("line", "level"),
    [
        (f"2026-11-28 09:26:13,417 ERROR worker.main [pid 7] {MESSAGE}", Level.ERROR),  # Python, custom format
        (f"ERROR:root:{MESSAGE}", Level.ERROR),  # Python logging.basicConfig()
        (f"2026-11-28 09:26:13,417 - worker - ERROR - {MESSAGE}", Level.ERROR),
        (f"2026-11-28 09:26:13,417 ERROR {MESSAGE}", Level.ERROR),
        (f"09:26:13.417 [main] ERROR c.c.worker.Main - {MESSAGE}", Level.ERROR),  # logback / log4j2 default
        (f"2026-11-28 09:26:13,417 [pool-1-thread-3] WARN  com.contoso.Worker - {MESSAGE}", Level.WARNING),
        (f"2026-11-28T09:26:13.417Z ERROR 7 --- [           main] c.c.Worker                : {MESSAGE}",
         Level.ERROR),  # Spring Boot
        (f"[09:26:13 ERR] {MESSAGE}", Level.ERROR),  # Serilog console
        (f"[2026-11-28 09:26:13.417 +00:00] [ERR] {MESSAGE}", Level.ERROR),
        (f"2026-11-28T09:26:13.417Z\terror\tworker/main.go:42\t{MESSAGE}", Level.ERROR),  # zap console
        (f"E1128 09:26:13.417123       7 main.go:42] {MESSAGE}", Level.ERROR),  # klog
        (f"2026/11/28 09:26:13 {MESSAGE}", None),  # Go's log package
        (f"error: {MESSAGE}", Level.ERROR),  # winston simple
        (f"[2026-11-28T09:26:13.417Z] [req-7f3a] [ERROR] {MESSAGE}", Level.ERROR),
        (f"2026-11-28T09:26:13Z INFO  [worker] [request_id=abc-123] {MESSAGE}", Level.INFO),
        (MESSAGE, None),
    ],
)
def test_text_prefixes_are_stripped_and_their_level_kept(line: str, level: Level | None) -> None:
    parsed = parse_line(line)
    assert parsed.message == MESSAGE
    assert parsed.level == level


@pytest.mark.parametrize(
    "line",
    [
        "requests.exceptions.ConnectionError: HTTPConnectionPool(host='api', port=80): Max retries exceeded",
        "  File \"/app/worker.py\", line 12, in <module>",
        "\tat com.contoso.Worker.run(Worker.java:42)",
        "Error: connect ECONNREFUSED 10.0.0.4:5432",
        "[Errno 111] Connection refused",
        "500 Internal Server Error",
    ],
)
def test_messages_without_a_prefix_are_left_whole(line: str) -> None:
    assert parse_line(line).message == line


def test_an_exception_name_after_the_level_is_not_taken_for_a_logger() -> None:
    parsed = parse_line("2026-11-28 09:26:13,417 ERROR requests.exceptions.ConnectionError: boom")
    assert parsed.message == "requests.exceptions.ConnectionError: boom"


@pytest.mark.parametrize(
    ("line", "message", "error", "level"),
    [
        ('{"level":"error","ts":1732786000.1,"logger":"worker","msg":"could not reserve stock",'
         '"error":"dial tcp 10.0.0.4:5432: connect: connection refused"}',
         "could not reserve stock", "dial tcp 10.0.0.4:5432: connect: connection refused", Level.ERROR),  # zap
        ('{"level":50,"time":1732786000000,"pid":7,"hostname":"w","msg":"failed","err":{"type":"Error",'
         '"message":"connect ECONNREFUSED 10.0.0.4:5432","stack":"Error: connect ECONNREFUSED 10.0.0.4:5432\\n'
         '    at TCPConnectWrap.afterConnect (node:net:1555:16)"}}',
         "failed", "Error: connect ECONNREFUSED 10.0.0.4:5432\n    at TCPConnectWrap.afterConnect (node:net:1555:16)",
         Level.ERROR),  # pino
        ('{"@t":"2026-11-28T09:26:13.417Z","@mt":"Order {Id} failed","@m":"Order 42 failed","@l":"Error",'
         '"@x":"System.TimeoutException: The operation has timed out."}',
         "Order 42 failed", "System.TimeoutException: The operation has timed out.", Level.ERROR),  # Serilog CLEF
        ('{"@t":"2026-11-28T09:26:13.417Z","@mt":"Processed {Count} orders, 0 errors","Count":5}',
         "Processed {Count} orders, 0 errors", None, Level.INFO),  # CLEF without @l is Information
        ('{"level":"info","message":"retrying after timeout... succeeded","timestamp":"2026-11-28T09:26:13Z"}',
         "retrying after timeout... succeeded", None, Level.INFO),  # winston json
        ('{"Timestamp":"2026-11-28T09:26:13Z","EventId":0,"LogLevel":"Error","Category":"Worker",'
         '"Message":"Processing failed","Exception":"System.InvalidOperationException: boom"}',
         "Processing failed", "System.InvalidOperationException: boom", Level.ERROR),  # .NET JSON console
        ('{"severity":"ERROR","message":"upload failed","error":{"message":"AuthorizationPermissionMismatch"}}',
         "upload failed", "AuthorizationPermissionMismatch", Level.ERROR),
        ('{"log.level":"error","message":"query failed","error.message":"timeout expired"}',
         "query failed", "timeout expired", Level.ERROR),  # ECS
        ('time="2026-11-28T09:26:13Z" level=error msg="could not reserve stock" error="dial tcp: i/o timeout"',
         "could not reserve stock", "dial tcp: i/o timeout", Level.ERROR),  # logrus text (logfmt)
    ],
)
def test_structured_lines(line: str, message: str, error: str | None, level: Level | None) -> None:
    parsed = parse_line(line)
    assert (parsed.message, parsed.error, parsed.level, parsed.structured) == (message, error, level, True)


def test_json_that_is_not_an_object_is_text() -> None:
    assert parse_line("[1, 2, 3]").message == "[1, 2, 3]"
    assert parse_line("{not json}").structured is False


@pytest.mark.parametrize(
    ("value", "level"),
    [(10, Level.TRACE), (20, Level.DEBUG), (30, Level.INFO), (40, Level.WARNING), (50, Level.ERROR),
     (60, Level.FATAL), ("Information", Level.INFO), ("WRN", Level.WARNING), ("crit", Level.FATAL),
     ("50", Level.ERROR), ("nonsense", None), (True, None), (None, None)],
)
def test_levels(value: object, level: Level | None) -> None:
    assert level_of(value) == level


# --- events -------------------------------------------------------------------------------------------


def rows(lines: list[str], replica: str = "job-a1b2c-x1", stream: str = "stderr", start: float = 0,
         step_ms: int = 1) -> list[ConsoleRow]:
    return [ConsoleRow(T0 + timedelta(seconds=start, milliseconds=i * step_ms), replica, replica.rsplit("-", 1)[0],
                       stream, line) for i, line in enumerate(lines)]


PYTHON = """2026-11-28 09:26:13,417 ERROR worker.main [pid 7] Job failed
Traceback (most recent call last):
  File "/app/worker.py", line 12, in <module>
    conn = psycopg.connect(DSN)
TimeoutError: timed out

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/app/worker.py", line 14, in <module>
    raise
psycopg.OperationalError: connection failed: Connection refused
\tIs the server running on that host and accepting TCP/IP connections?"""
JAVA = """09:26:13.417 [main] ERROR c.c.Worker - Job failed
java.lang.RuntimeException: job failed
\tat com.contoso.Worker.run(Worker.java:42)
Caused by: org.postgresql.util.PSQLException: Connection to orders-db:5432 refused.
\tat org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:319)
Caused by: java.net.ConnectException: Connection refused
\tat java.base/sun.nio.ch.Net.connect0(Native Method)
\t... 12 more"""
DOTNET = """Unhandled exception. System.InvalidOperationException: Could not read the queue
 ---> Azure.RequestFailedException: The specified queue does not exist.
RequestId:3f2a9c1e-0003-0041-2b1a-000000000000
Status: 404 (The specified queue does not exist.)
ErrorCode: QueueNotFound
   at Azure.Storage.Queues.QueueRestClient.ReceiveAsync()
   --- End of inner exception stack trace ---
   at Worker.Program.Main(String[] args)"""
GO = """panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x48f4a6]

goroutine 1 [running]:
main.main()
\t/app/main.go:12 +0x26
exit status 2"""
NODE = """/app/index.js:12
    throw err;
    ^

Error: connect ECONNREFUSED 10.0.0.4:5432
    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16) {
  errno: -111,
  code: 'ECONNREFUSED',
  syscall: 'connect'
}

Node.js v20.11.0"""
DOTNET_LOGGER = """fail: Worker.Program[0]
      Processing failed
      System.Net.Http.HttpRequestException: Connection refused (orders-api:443)
         at System.Net.Http.HttpConnectionPool.ConnectAsync()"""


@pytest.mark.parametrize(
    ("text", "root", "trace"),
    [
        (PYTHON, "TimeoutError: timed out", "python"),  # a chain's first traceback holds the cause
        (JAVA, "java.net.ConnectException: Connection refused", "java"),
        (DOTNET, "Azure.RequestFailedException: The specified queue does not exist.", "dotnet"),
        (GO, "panic: runtime error: invalid memory address or nil pointer dereference", "go"),
        (NODE, "Error: connect ECONNREFUSED 10.0.0.4:5432", "node"),
        (DOTNET_LOGGER, "System.Net.Http.HttpRequestException: Connection refused (orders-api:443)", "dotnet"),
    ],
)
def test_a_trace_over_many_rows_is_one_event_with_its_root_cause(text: str, root: str, trace: str) -> None:
    events = group_events(rows(text.splitlines()))
    assert len(events) == 1
    assert (events[0].root, events[0].trace) == (root, trace)


def test_root_cause_of_lines_without_a_trace_is_the_first_message() -> None:
    assert root_cause(["", "  disk full  ", "second"]) == ("disk full", None)


def test_events_are_per_replica_and_split_by_time_and_by_new_log_lines() -> None:
    mixed = rows(PYTHON.splitlines(), "job-a-x1") + rows(JAVA.splitlines(), "job-a-x2")
    assert sorted(e.trace or "" for e in group_events(mixed)) == ["java", "python"]
    later = rows(["KeyError: 'id'"], start=0) + rows(["KeyError: 'id'"], start=30)
    assert len(group_events(later)) == 2
    two_logs = rows(["2026-11-28 09:26:13,417 ERROR one failed", "2026-11-28 09:26:13,418 ERROR two failed"])
    assert [e.root for e in group_events(two_logs)] == ["one failed", "two failed"]


def test_json_lines_are_events_of_their_own_and_their_stack_gives_the_root() -> None:
    line = ('{"level":50,"msg":"failed","err":{"type":"Error","message":"connect ECONNREFUSED 10.0.0.4:5432",'
            '"stack":"Error: connect ECONNREFUSED 10.0.0.4:5432\\n    at TCPConnectWrap.afterConnect (node:net:1:1)"}}')
    events = group_events(rows([line, line, "    at something"]))
    assert [(e.root, e.trace) for e in events][:2] == [("Error: connect ECONNREFUSED 10.0.0.4:5432", "node")] * 2
    zap = '{"level":"error","msg":"could not reserve stock","error":"dial tcp 10.0.0.4:5432: i/o timeout"}'
    assert group_events(rows([zap]))[0].root == "could not reserve stock: dial tcp 10.0.0.4:5432: i/o timeout"


# --- scrubbing and normalising -------------------------------------------------------------------------

SECRETS = {
    "url password": ("could not connect to postgresql://sync:Pa55w0rdXyz@orders-db:5432/orders", "Pa55w0rdXyz"),
    "Password=": ("Login failed: Server=tcp:sql-x,1433;User ID=app;Password=S3cr3tPassw0rd;Encrypt=True",
                  "S3cr3tPassw0rd"),
    "AccountKey=": ("DefaultEndpointsProtocol=https;AccountName=st;AccountKey=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==;"
                    "EndpointSuffix=core.windows.net", "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA=="),
    "SharedAccessKey=": ("Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=listen;"
                         "SharedAccessKey=c2VjcmV0a2V5MTIzNDU2Nzg5MA=", "c2VjcmV0a2V5MTIzNDU2Nzg5MA="),
    "sig=": ("GET https://st.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=AbCdEf0123456789%2BxYz%3D 403",
             "AbCdEf0123456789%2BxYz%3D"),
    "bearer": ("401 calling api: Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123456789", "abcdefghijklmnop"),
    "jwt": ("token rejected: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFU",
            "eyJzdWIiOiIxMjM0NTY3ODkwIn0"),
}


@pytest.mark.parametrize("shape", sorted(SECRETS))
def test_every_secret_shape_is_scrubbed(shape: str) -> None:
    text, secret = SECRETS[shape]
    masked = scrub(text)
    assert secret not in masked and MARKER in masked
    assert secret not in normalise(masked)


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("ERROR connection to db-7f3a9c1e2b.internal:5432 refused (request 3f2a9c1e-1111-2222-3333-444455556666)",
         "ERROR connection to db-<hex>.internal:<n> refused (request <guid>)"),
        ("could not open /data/jobs/4711/input.csv", "could not open /data/jobs/<n>/input.csv"),
        ("could not open /tmp/tmpa1b2c3d4x/input.csv", "could not open /tmp/<id>/input.csv"),
        ("GET /v1/items/batch failed", "GET /v1/items/batch failed"),
        ("replica order-fulfillment-54avy-4e8rg failed at 2026-11-28T09:26:13.417Z",
         "replica order-fulfillment-<id>-<id> failed at <time>"),
        ("panic at addr=0x0 pc=0x48f4a6", "panic at addr=<hex> pc=<hex>"),
        ("  spaced\t out  ", "spaced out"),
        ("psycopg2.OperationalError on worker-v2", "psycopg2.OperationalError on worker-v2"),
    ],
)
def test_normalise(text: str, normalised: str) -> None:
    assert normalise(text) == normalised


# --- summarise_console ---------------------------------------------------------------------------------


def query_rows(lines: list[str], replica: str, stream: str = "stderr", start: float = 0) -> list[dict[str, Any]]:
    return [{"TimeGenerated": r.time, "ReplicaName": r.replica, "ExecutionName": r.execution, "Stream": r.stream,
             "Log": r.log} for r in rows(lines, replica, stream, start)]


def test_summarise_counts_events_not_lines_and_executions_not_replicas() -> None:
    data = (query_rows(PYTHON.splitlines(), "job-e1-r1") + query_rows(PYTHON.splitlines(), "job-e1-r2", start=60)
            + query_rows(PYTHON.splitlines(), "job-e2-r1", start=120))
    [signature] = summarise_console(data)
    assert signature == Signature(
        text="TimeoutError: timed out", kind=ErrorKind.DEPENDENCY,
        count=3, executions=2, first_seen=T0, last_seen=T0 + timedelta(seconds=120, milliseconds=12),
        level=Level.ERROR)


def test_summarise_orders_by_executions_then_events_then_text() -> None:
    data = (query_rows(["KeyError: 'b'"], "job-e1-r1") + query_rows(["KeyError: 'b'"], "job-e1-r1", start=10)
            + query_rows(["ValueError: x"], "job-e1-r1", start=20) + query_rows(["ValueError: x"], "job-e2-r1")
            + query_rows(["AError: a"], "job-e3-r1"))
    assert [(s.text, s.count, s.executions) for s in summarise_console(data)] == [
        ("ValueError: x", 2, 2), ("KeyError: 'b'", 2, 1), ("AError: a", 1, 1)]


@pytest.mark.parametrize(
    "line",
    [
        "2026-11-28 09:26:13,417 INFO worker processed 12 messages, 0 errors",
        '{"level":"info","message":"retrying after timeout... succeeded"}',
        '{"level":"debug","msg":"connection refused by replica 2, using replica 1"}',
        "Upload finished: 5 uploaded, 0 failed",
        "2026-11-28 09:26:13,417 WARNING worker timeout reading orders, retrying in 5s (attempt 1/3)",
        "errors=0 warnings=2",
        "retry 2 of 3 after connection reset succeeded",
    ],
)
def test_lines_that_report_no_failure_make_no_signature(line: str) -> None:
    assert summarise_console(query_rows([line], "job-e1-r1")) == []


def test_stdout_lines_without_error_words_or_level_are_not_errors_but_stderr_ones_are() -> None:
    assert summarise_console(query_rows(["rendered 3 PDFs"], "job-e1-r1", stream="stdout")) == []
    [one] = summarise_console(query_rows(["segfault in libvips"], "job-e1-r1", stream="stderr"))
    assert one.kind is ErrorKind.APPLICATION


def test_a_signature_is_scrubbed_before_anything_sees_it() -> None:
    line = "psycopg.OperationalError: connecting to postgresql://sync:Pa55w0rdXyz@db:5432/o: Connection refused"
    data = query_rows([line], "job-e1-r1")
    [signature] = summarise_console(data)
    assert "Pa55w0rdXyz" not in signature.text and MARKER in signature.text
    assert signature.kind is ErrorKind.DEPENDENCY


def test_classification_reads_the_whole_message_however_long_its_prefix() -> None:
    prefix = "2026-11-28 09:26:13,417 ERROR worker.main.orders.reservations [pid 7] [thread ThreadPool-0_0] "
    filler = "while reserving stock for a very long order line description " * 4
    [signature] = summarise_console(query_rows([prefix + filler + "timeout expired"], "job-e1-r1"))
    assert signature.kind is ErrorKind.DEPENDENCY
    assert signature.text.endswith("timeout expired")


def test_string_times_and_missing_execution_names_are_understood() -> None:
    data = [{"TimeGenerated": "2026-11-28T09:26:13Z", "ReplicaName": "job-e1-r1", "Stream": "stderr",
             "Log": "KeyError: 'id'"}]
    [signature] = summarise_console(data)
    assert (signature.first_seen, signature.executions) == (T0, 1)
