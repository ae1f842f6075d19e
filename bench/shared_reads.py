"""Many responders, one incident (issue 18): concurrent triages against slow Azure.

Starts the local Azure emulator in its own process serving `oom-after-image-change` cloned into 12 jobs,
every upstream call slowed to 2 s, and triages, each case on fresh readers (nothing shared between cases):

- lone: one triage of one job;
- same job: N concurrent triages of that job (several responders in one incident);
- different jobs: one triage of each of 12 jobs at once (an alert storm).

Prints, per case: the verdicts (each must be the lone triage's), time to report p50/p99 and its ratio to
the lone triage's, the number of Log Analytics queries, and the emulator's request count per distinct ARM
and Queue request (its log records method and path; a Log Analytics query is a POST to one path, so those
are counted in total against the lone triage's).

`BENCH_CODE=/path/to/tree` runs another tree's bot (e.g. main, for a before/after), emulator included.

Usage: nice python bench/shared_reads.py [--same 20] [--jobs 12] [--latency-ms 2000] [--deadline-s 30]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(os.environ.get("BENCH_CODE") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # _harness, also when loaded by file (tests/support)

from _harness import latency_faults, percentile, requests_seen, start_emulator, written  # noqa: E402

from bot.azure.credentials import StaticTokenCredential  # noqa: E402
from bot.azure.endpoints import Endpoints  # noqa: E402
from bot.azure.wiring import azure_readers  # noqa: E402
from bot.clock import FixedClock  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.emulator.scenario import load_scenario  # noqa: E402
from bot.intake import JobSpec  # noqa: E402
from bot.triage import triage  # noqa: E402

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "oom-after-image-change.yaml"
JOB = "orders-processor"


def world(jobs: int, latency_ms: int) -> Path:
    """The scenario with its job cloned `jobs` times (orders-processor, orders-processor-02, …): its
    resource, executions, metrics and log rows; every upstream call `latency_ms` slow."""
    data = yaml.safe_load(SCENARIO.read_text())
    original = next(j for j in data["jobs"] if j["name"] == JOB)
    names = [JOB] + [f"{JOB}-{i:02d}" for i in range(2, jobs + 1)]

    def cloned(value: Any, name: str) -> Any:
        return json.loads(json.dumps(value).replace(JOB, name))

    data["jobs"] += [cloned(original, name) for name in names[1:]]
    data["metrics"] += [cloned(m, name) for m in data["metrics"] if m["job"] == JOB for name in names[1:]]
    for table, rows in data["tables"].items():
        mine = [r for r in rows if JOB in json.dumps(r)]
        data["tables"][table] = rows + [cloned(r, name) for r in mine for name in names[1:]]
    data["faults"] = latency_faults(latency_ms)
    data.pop("expect", None)
    return written(data, prefix="jobbot-shared-")


async def run_case(endpoints: Endpoints, config: Config, clock: FixedClock, names: list[str],
                   deadline_s: float) -> tuple[list[float], list[str]]:
    async with azure_readers(StaticTokenCredential(), endpoints, config) as readers:
        async def one(name: str) -> tuple[float, str]:
            started = time.perf_counter()
            report = await triage(JobSpec(name), timedelta(hours=1), readers, clock, deadline_s=deadline_s,
                                  config=config)
            return time.perf_counter() - started, report.verdict.cause.value

        results = await asyncio.gather(*(one(n) for n in names))
    return [t for t, _ in results], [v for _, v in results]


def describe(label: str, times: list[float], verdicts: list[str], lone: tuple[float, str] | None,
             requests: list[dict[str, Any]], lone_queries: int | None) -> None:
    queries = [r for r in requests if r["target"] == "logs"]
    p50, p99 = statistics.median(times), percentile(times, 0.99)
    print(f"\n{label}: {len(times)} triage(s)")
    counts = collections.Counter(verdicts)
    same = "" if lone is None else (" — all the lone triage's" if set(verdicts) == {lone[1]}
                                    else f" — NOT all the lone triage's ({lone[1]})")
    print(f"  verdicts: {', '.join(f'{v} x{n}' for v, n in sorted(counts.items()))}{same}")
    ratio = "" if lone is None else f"; p99 = {p99 / lone[0]:.2f} x the lone triage's {lone[0]:.1f} s"
    print(f"  time to report: p50 {p50:.1f} s, p99 {p99:.1f} s{ratio}")
    kinds = f" (a lone triage makes {lone_queries})" if lone_queries is not None else ""
    print(f"  Log Analytics queries: {len(queries)}{kinds}")
    other = collections.Counter(f"{r['method']} {r['path']}" for r in requests if r["target"] != "logs")
    worst = max(other.values(), default=0)
    print(f"  ARM/queue requests: {sum(other.values())} in total, {len(other)} distinct; "
          f"the most repeated made {worst} time(s)")
    for request, n in sorted(other.items(), key=lambda kv: (-kv[1], kv[0]))[:4]:
        method, _, path = request.partition(" ")
        print(f"    {n:>3} x {method} …{path[-90:]}" if len(path) > 90 else f"    {n:>3} x {request}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--same", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--latency-ms", type=int, default=2000)
    parser.add_argument("--deadline-s", type=float, default=30.0, help="per check (bench/slack_ack.py: 30)")
    args = parser.parse_args()
    process, url, ca = start_emulator(world(args.jobs, args.latency_ms), ROOT)
    try:
        scenario = load_scenario(SCENARIO)
        endpoints = Endpoints(arm=url, logs=url, queue_account=url + "/{account}", ca_file=ca)
        config = Config(subscriptions=(scenario.subscription,), check_deadline_s=args.deadline_s)
        clock = FixedClock(scenario.now)
        names = [JOB] + [f"{JOB}-{i:02d}" for i in range(2, args.jobs + 1)]
        print(f"code: {ROOT}; every upstream call {args.latency_ms} ms; check deadline {args.deadline_s:g} s")

        def case(jobs: list[str]) -> tuple[list[float], list[str], list[dict[str, Any]]]:
            # Reads a finished case left behind (cancelled, still answered) land in its own count, not this one's.
            time.sleep(2 * args.latency_ms / 1000 + 0.5)
            before = len(requests_seen(url, ca))
            times, verdicts = asyncio.run(run_case(endpoints, config, clock, jobs, args.deadline_s))
            return times, verdicts, requests_seen(url, ca)[before:]

        case(names)  # untimed: the emulator answers repeated queries from memory; time the bot, not its engine
        times, verdicts, seen = case([JOB])
        lone = (times[0], verdicts[0])
        lone_queries = sum(1 for r in seen if r["target"] == "logs")
        describe("lone", times, verdicts, None, seen, None)
        times, verdicts, seen = case([JOB] * args.same)
        describe(f"same job x{args.same}", times, verdicts, lone, seen, lone_queries)
        times, verdicts, seen = case(names)
        describe(f"{args.jobs} different jobs", times, verdicts, lone, seen, lone_queries)
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
