"""Triage wall time against the upstream latency it cannot avoid.

Starts the local Azure emulator in its own process (so its KQL engine's CPU does not count against the
bot) serving a bundled scenario with injected latency on every upstream call — by default ARM 300 ms,
each Log Analytics query 600 ms, the queue 200 ms — then triages the job several times and prints:

- cold: a fresh process state (no cached environment -> workspace lookup), the chain is
  job -> environment -> queries, so the floor is ARM + ARM + LOGS;
- warm: the environment's log setup cached (as in `jobbot serve`), the floor is ARM + LOGS;
- the ratio of each to the slowest single upstream call and to its dependency chain.

Usage: python bench/triage_latency.py [--arm-ms 300] [--logs-ms 600] [--queue-ms 200] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.azure.credentials import StaticTokenCredential  # noqa: E402
from bot.azure.endpoints import Endpoints  # noqa: E402
from bot.azure.wiring import azure_readers  # noqa: E402
from bot.clock import FixedClock  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.emulator.scenario import load_scenario  # noqa: E402
from bot.intake import parse_job  # noqa: E402
from bot.triage import triage  # noqa: E402

SCENARIO = ROOT / "scenarios" / "oom-after-image-change.yaml"


def scenario_with_latency(arm_ms: int, logs_ms: int, queue_ms: int) -> Path:
    data = yaml.safe_load(SCENARIO.read_text())
    data["faults"] = [
        {"target": "arm", "path": "/", "latency_ms": arm_ms},
        {"target": "logs", "path": "/query", "latency_ms": logs_ms},
        {"target": "queue", "path": "/", "latency_ms": queue_ms},
    ]
    out = Path(tempfile.mkdtemp(prefix="jobbot-bench-")) / "scenario.yaml"
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


def start_emulator(path: Path) -> tuple[subprocess.Popen[str], str, str]:
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "emulator", "--scenario", str(path)],
                               stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert process.stdout is not None
    url = ca = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (url and ca):
        line = process.stdout.readline()
        if match := re.search(r"ARM base URL\s+(\S+)", line):
            url = match.group(1)
        if match := re.search(r"CA file\s+(\S+)", line):
            ca = match.group(1)
    if not (url and ca):
        process.kill()
        raise SystemExit("the emulator did not start")
    return process, url, ca


async def measure(url: str, ca: str, runs: int) -> tuple[list[float], list[float]]:
    scenario = load_scenario(SCENARIO)
    endpoints = Endpoints(arm=url, logs=url, queue_account=url + "/{account}", ca_file=ca)
    config = Config(subscriptions=(scenario.subscription,))
    clock = FixedClock(scenario.now)
    spec = parse_job(scenario.expect["job"])
    cold: list[float] = []
    warm: list[float] = []
    # One untimed run first: the emulator answers a repeated query from memory, so what is timed is the bot
    # and the injected latency, not the emulator's KQL engine.
    async with azure_readers(StaticTokenCredential(), endpoints, config) as readers:
        await triage(spec, timedelta(hours=1), readers, clock, config=config, deadline_s=10)
    for _ in range(runs):
        async with azure_readers(StaticTokenCredential(), endpoints, config) as readers:
            for bucket in (cold, warm):  # the second triage on the same readers has the log setup cached
                started = time.perf_counter()
                report = await triage(spec, timedelta(hours=1), readers, clock, config=config, deadline_s=10)
                bucket.append(time.perf_counter() - started)
                assert report.evidence_complete, [c.summary for c in report.checks if c.status == "error"]
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arm-ms", type=int, default=300)
    parser.add_argument("--logs-ms", type=int, default=600)
    parser.add_argument("--queue-ms", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    process, url, ca = start_emulator(scenario_with_latency(args.arm_ms, args.logs_ms, args.queue_ms))
    try:
        cold, warm = asyncio.run(measure(url, ca, args.runs))
    finally:
        process.terminate()
        process.wait(timeout=10)
    slowest = max(args.arm_ms, args.logs_ms, args.queue_ms) / 1000
    chain_cold = (2 * args.arm_ms + args.logs_ms) / 1000
    chain_warm = (args.arm_ms + args.logs_ms) / 1000
    print(f"injected latency: ARM {args.arm_ms} ms, each query {args.logs_ms} ms, queue {args.queue_ms} ms; "
          f"{args.runs} runs each")
    for label, times, chain in (("cold", cold, chain_cold), ("warm", warm, chain_warm)):
        median = statistics.median(times)
        print(f"{label}: triage median {median * 1000:.0f} ms (min {min(times) * 1000:.0f}, max "
              f"{max(times) * 1000:.0f}); x{median / slowest:.2f} the slowest single call "
              f"({slowest * 1000:.0f} ms); x{median / chain:.2f} its dependency chain ({chain * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
