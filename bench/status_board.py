"""`jobbot status` with 50 jobs against slow Azure (issue 13: at most 3 round trips, at most 6 Log
Analytics queries).

Builds the world as `bench/shared_reads.py` does (`oom-after-image-change` with its job cloned, every
upstream call `--latency-ms` slow): `--jobs` jobs in all, the scenario's customer-notifier and copies of
orders-processor (the emulator lists 50 jobs a page, so 51 and more take a second page). Serves it from the
emulator in its own process and builds the board for every job on fresh readers. Prints the wall time in
round trips (time / latency); the same board with every call twice as slow and with none (the local CPU: the
bot and the emulator, both Python, on this machine); and the round trips upstream latency costs, the slope
(t(2L) - t(L)) / L, where the local CPU cancels out; the Log Analytics and Resource Graph queries (from the
emulator's request log) and the ARM/queue requests.

Usage: nice python bench/status_board.py [--jobs 50] [--latency-ms 1000] [--deadline-s 30]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import requests_seen, start_emulator
from shared_reads import SCENARIO, world

from bot.azure.credentials import StaticTokenCredential
from bot.azure.endpoints import Endpoints
from bot.azure.wiring import azure_readers
from bot.clock import FixedClock
from bot.config import Config
from bot.emulator.scenario import load_scenario
from bot.status.board import Board, Health
from bot.status.service import status_board


async def board_once(endpoints: Endpoints, config: Config, clock: FixedClock) -> tuple[float, Board]:
    async with azure_readers(StaticTokenCredential(), endpoints, config) as readers:
        started = time.perf_counter()
        board = await status_board(None, timedelta(hours=1), readers, clock, config)
        return time.perf_counter() - started, board


def timed(jobs: int, latency_ms: int, deadline_s: float) -> tuple[float, Board, list[dict[str, object]]]:
    """One warm-up board (the emulator answers repeated queries from memory), then one timed board."""
    process, url, ca = start_emulator(world(jobs - 1, latency_ms))  # and the scenario's other job
    try:
        scenario = load_scenario(SCENARIO)
        endpoints = Endpoints(arm=url, logs=url, queue_account=url + "/{account}", ca_file=ca)
        config = Config(subscriptions=(scenario.subscription,), check_deadline_s=deadline_s)
        clock = FixedClock(scenario.now)
        asyncio.run(board_once(endpoints, config, clock))
        time.sleep(2 * latency_ms / 1000 + 0.5)
        before = len(requests_seen(url, ca))
        elapsed, board = asyncio.run(board_once(endpoints, config, clock))
        return elapsed, board, requests_seen(url, ca)[before:]
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--latency-ms", type=int, default=1000)
    parser.add_argument("--deadline-s", type=float, default=30.0)
    args = parser.parse_args()
    print(f"{args.jobs} jobs; every upstream call {args.latency_ms} ms")
    elapsed, board, seen = timed(args.jobs, args.latency_ms, args.deadline_s)
    doubled, _, _ = timed(args.jobs, 2 * args.latency_ms, args.deadline_s)
    local, _, _ = timed(args.jobs, 0, args.deadline_s)
    counts = ", ".join(f"{board.count(h)} {h.value}" for h in Health if board.count(h))
    print(f"board: {len(board.rows)} rows ({counts})")
    latency_s = max(args.latency_ms, 1) / 1000
    print(f"wall time: {elapsed:.2f} s = {elapsed / latency_s:.2f} round trips; with every call twice as slow "
          f"{doubled:.2f} s; with no latency {local:.2f} s (the local CPU)")
    # The board's sequential round trips are what one more `latency` per call adds to its wall time: the
    # local CPU (the same in both runs) cancels out.
    print(f"round trips of upstream latency: {(doubled - elapsed) / latency_s:.2f}")
    queries = [r for r in seen if r["target"] == "logs"]
    print(f"Log Analytics queries: {len(queries)}")
    graph = [r for r in seen if "resourcegraph" in str(r["path"]).lower()]
    print(f"Resource Graph queries: {len(graph)} (its quota: about 15 per 5 s)")
    other = collections.Counter(f"{r['method']} {str(r['path']).split('?')[0]}" for r in seen if r["target"] != "logs")
    print(f"ARM/queue requests: {sum(other.values())} in total, {len(other)} distinct")
    for request, n in sorted(other.items(), key=lambda kv: (-kv[1], kv[0]))[:6]:
        print(f"    {n:>3} x …{request[-100:]}")


if __name__ == "__main__":
    main()
