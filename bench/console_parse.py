"""Cost of reading console output: summarise_console on N rows (default 100,000) of mixed real formats.

Rows: Python logging lines with tracebacks split over rows, JSON lines (pino, zap, Serilog CLEF), logback
lines with `Caused by:` chains, .NET inner exceptions, Go panics, info lines with error words, spread over
many replicas. Prints the time for N rows and for N/4 and N/2, and the per-row cost at each size, so a
cost that grows faster than the rows shows as a rising per-row figure.

Usage: python bench/console_parse.py [--rows 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.evidence.console import summarise_console  # noqa: E402

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
BLOCKS: list[list[str]] = [
    ["2026-11-28 09:26:13,417 ERROR worker.main [pid 7] Job failed for order {i}",
     "Traceback (most recent call last):",
     '  File "/app/worker.py", line 12, in <module>',
     "    conn = psycopg.connect(DSN)",
     'psycopg.OperationalError: connection to server at "db-{i}" (10.0.0.4), port 5432 failed: Connection refused'],
    ['{{"level":50,"time":1732786000000,"pid":7,"msg":"failed {i}","err":{{"type":"Error",'
     '"message":"connect ECONNREFUSED 10.0.0.4:5432","stack":"Error: connect ECONNREFUSED 10.0.0.4:5432\\n'
     '    at TCPConnectWrap.afterConnect (node:net:1555:16)"}}}}'],
    ['{{"level":"error","ts":1732786000.1,"msg":"could not reserve stock","order":{i},'
     '"error":"dial tcp 10.0.0.4:5432: i/o timeout"}}'],
    ["09:26:13.417 [main] ERROR c.c.Worker - Job {i} failed",
     "java.lang.RuntimeException: job failed",
     "\tat com.contoso.Worker.run(Worker.java:42)",
     "Caused by: java.net.ConnectException: Connection refused",
     "\t... 12 more"],
    ["Unhandled exception. System.InvalidOperationException: Could not read queue {i}",
     " ---> Azure.RequestFailedException: The specified queue does not exist.",
     "   at Azure.Storage.Queues.QueueRestClient.ReceiveAsync()"],
    ["panic: runtime error: index out of range [{i}] with length 3", "", "goroutine 1 [running]:", "main.main()",
     "\t/app/main.go:12 +0x26"],
    ["2026-11-28 09:26:13,417 INFO worker processed {i} messages, 0 errors"],
    ['{{"@t":"2026-11-28T09:26:13Z","@mt":"Checked {{Count}} queues","@l":"Debug","Count":{i}}}'],
    ["KeyError: 'customer_{i}' while reading postgresql://sync:Pa55w0rd{i}@db/orders"],
]


def make_rows(n: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    i = 0
    while len(rows) < n:
        block = BLOCKS[i % len(BLOCKS)]
        replica = f"orders-processor-e{i % 400}-r{i % 3}"
        start = T0 + timedelta(seconds=10 * i)
        for j, line in enumerate(block):
            rows.append({"TimeGenerated": start + timedelta(milliseconds=j), "ReplicaName": replica,
                         "ExecutionName": replica.rsplit("-", 1)[0], "Stream": "stderr" if j % 2 else "stdout",
                         "Log": line.format(i=i)})
        i += 1
    return rows[:n]


def best_of(rows: list[dict[str, Any]], runs: int) -> tuple[float, int]:
    best, found = float("inf"), 0
    for _ in range(runs):
        started = time.perf_counter()
        found = len(summarise_console(rows))
        best = min(best, time.perf_counter() - started)
    return best, found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for n in (args.rows // 4, args.rows // 2, args.rows):
        seconds, found = best_of(make_rows(n), args.runs)
        print(f"{n:>8} rows: {seconds:6.2f} s  ({seconds / n * 1e6:5.1f} µs/row, {found} signatures)")


if __name__ == "__main__":
    main()
