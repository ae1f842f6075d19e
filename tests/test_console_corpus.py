"""The console parser on real formats (tests/fixtures/console, sources in its SOURCES.md): each sample, written
one row per line as a replica would, parses to the expected root cause, trace runtime, level and kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.evidence.console.events import ConsoleRow, group_events
from bot.evidence.console.summary import is_error, summarise_console

CORPUS = Path(__file__).parent / "fixtures" / "console"
T0 = datetime(2026, 11, 28, 9, 26, 13, tzinfo=UTC)

# file -> (root cause line, trace runtime, level the logger wrote, kind, error events)
EXPECTED: dict[str, tuple[str, str | None, str | None, str, int]] = {
    "python-basicconfig.log": (
        "could not reserve stock for order 4711: [Errno 111] Connection refused", None, "error", "dependency", 1),
    "python-traceback-chained.log": (
        'psycopg.OperationalError: connection failed: connection to server at "10.0.0.4", port 5432 failed: '
        "timeout expired", "python", "error", "dependency", 1),
    "python-memoryerror.log": ("MemoryError", "python", None, "memory", 1),
    "python-azure-queue-missing.log": (
        "azure.core.exceptions.ResourceNotFoundError: The specified queue does not exist.", "python", None,
        "event-source", 1),
    "logback-default.log": ("java.net.ConnectException: Connection refused", "java", "error", "dependency", 1),
    "spring-boot.log": (
        "com.azure.messaging.servicebus.ServiceBusException: Unauthorized access. 'Listen' claim(s) are required "
        "to perform this operation.", "java", "error", "identity", 1),
    "java-oom.log": ("java.lang.OutOfMemoryError: Java heap space", "java", None, "memory", 1),
    "serilog-console.log": (
        "Azure.RequestFailedException: Caller is not authorized to perform action on resource.", "dotnet", "error",
        "identity", 1),
    "serilog-clef.log": ("System.Net.Sockets.SocketException (111): Connection refused", "dotnet", "error",
                         "dependency", 1),
    "dotnet-console.log": (
        "System.OutOfMemoryException: Exception of type 'System.OutOfMemoryException' was thrown.", "dotnet",
        "error", "memory", 1),
    "dotnet-unhandled.log": (
        "Azure.Messaging.ServiceBus.ServiceBusException: The messaging entity 'sb-orders:queue:orders' could not "
        "be found. (MessagingEntityNotFound)", "dotnet", None, "event-source", 1),
    "pino.log": ("Error: connect ECONNREFUSED 10.0.0.4:5432", "node", "error", "dependency", 1),
    "pino-legacy.log": ("Error: getaddrinfo ENOTFOUND orders-db.internal", "node", "error", "dependency", 1),
    "winston.log": ("upload of invoice 4711 failed: AuthorizationPermissionMismatch", None, "error", "identity", 2),
    "zap-production.log": ("failed to reserve stock: dial tcp 10.0.0.4:5432: connect: connection refused", None,
                           "error", "dependency", 1),
    "zap-development.log": ("failed to reserve stock: dial tcp 10.0.0.4:5432: i/o timeout", None, "error",
                            "dependency", 1),
    "logrus-text.log": (
        "failed to receive messages: GET https://storders.queue.core.windows.net/orders/messages: 404 The "
        "specified queue does not exist.", None, "error", "event-source", 1),
    "klog.log": (
        'failed to list orders: Get "https://10.0.0.1:443/apis/orders": dial tcp 10.0.0.1:443: i/o timeout', None,
        "error", "dependency", 1),
    "go-panic.log": ("panic: runtime error: invalid memory address or nil pointer dereference", "go", None,
                     "application", 1),
    "go-fatal-oom.log": ("fatal error: runtime: out of memory", "go", None, "memory", 1),
    "node-crash.log": ("Error: connect ECONNREFUSED 10.0.0.4:5432", "node", None, "dependency", 1),
    "node-heap-oom.log": ("FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
                          "node", None, "memory", 1),
}
NOT_ERRORS = ["python-info-noise.log"]


def rows(name: str, step_ms: int = 1) -> list[ConsoleRow]:
    lines = (CORPUS / name).read_text(encoding="utf-8").split("\n")[:-1]
    return [ConsoleRow(T0 + timedelta(milliseconds=i * step_ms), "orders-e1-r1", "orders-e1", "stderr", line)
            for i, line in enumerate(lines)]


def query_rows(sample: list[ConsoleRow]) -> list[dict[str, Any]]:
    return [{"TimeGenerated": r.time, "ReplicaName": r.replica, "ExecutionName": r.execution, "Stream": r.stream,
             "Log": r.log} for r in sample]


def test_every_sample_is_expected_and_cited() -> None:
    files = {p.name for p in CORPUS.glob("*.log")}
    assert files == set(EXPECTED) | set(NOT_ERRORS)
    sources = (CORPUS / "SOURCES.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in sources for name in files)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_parses_to_its_root_cause(name: str) -> None:
    root, trace, level, kind, count = EXPECTED[name]
    errors = [e for e in group_events(rows(name)) if is_error(e)]
    assert len(errors) == count
    event = errors[0]
    assert (event.root, event.trace, event.level.label if event.level else None) == (root, trace, level)
    [signature] = summarise_console(query_rows(rows(name)))
    assert (signature.kind.value, signature.count) == (kind, count)


# Chains are read by position: written at one instant and returned backwards, a chain of Python tracebacks
# or of several Java `Caused by:` cannot be told apart (which one is the innermost cause).
ORDER_BOUND = {"python-traceback-chained.log", "logback-default.log"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_written_at_one_instant_parses_the_same(name: str) -> None:
    # Log Analytics may give every row of a trace the same TimeGenerated, and the engine may return the tie in
    # any order: the root cause and kind must not depend on it.
    sample = rows(name, step_ms=0)
    orders = [sample] if name in ORDER_BOUND else [sample, list(reversed(sample))]
    for ordered in orders:
        signatures = summarise_console(query_rows(ordered))
        assert [(s.kind.value, s.count) for s in signatures] == [EXPECTED[name][3:]]


@pytest.mark.parametrize("name", NOT_ERRORS)
def test_info_and_debug_samples_are_not_errors(name: str) -> None:
    assert summarise_console(query_rows(rows(name))) == []
