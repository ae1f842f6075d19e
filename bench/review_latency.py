"""Review wall time in round trips of upstream latency (issue 12: at most 3).

Starts the local Azure emulator in its own process serving `scenarios/review-clean.yaml` (a job with an
identity, role assignments, a registry and a Key Vault: every read the review makes) with the same injected
latency on every upstream call — ARM, each Log Analytics query, the queue — then reviews the job several
times and prints the median wall time divided by that latency: the number of round trips paid, cold (fresh
readers, as from the CLI) and warm (the environment's log setup cached, as in `jobbot serve`).

The chain a review cannot avoid: the job (1), then everything that depends on the job alone, concurrently
(2), then what depends on a read of round 2 — the queries after the environment's log setup, role names
after their assignments (3).

Usage: python bench/review_latency.py [--latency-ms 400] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _harness import emulator, round_trips, slowed_scenario  # noqa: E402

from bot.azure.credentials import StaticTokenCredential  # noqa: E402
from bot.azure.endpoints import Endpoints  # noqa: E402
from bot.azure.wiring import azure_readers  # noqa: E402
from bot.clock import FixedClock  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.emulator.scenario import load_scenario  # noqa: E402
from bot.intake import parse_job  # noqa: E402
from bot.review.findings import Status  # noqa: E402
from bot.review.service import review  # noqa: E402

SCENARIO = ROOT / "scenarios" / "review-clean.yaml"


async def measure(url: str, ca: str, runs: int) -> tuple[list[float], list[float]]:
    scenario = load_scenario(SCENARIO)
    endpoints = Endpoints(arm=url, logs=url, queue_account=url + "/{account}", ca_file=ca)
    config = Config(subscriptions=(scenario.subscription,), check_deadline_s=20)
    clock = FixedClock(scenario.now)
    spec = parse_job(scenario.expect["job"])  # type: ignore[index]
    cold: list[float] = []
    warm: list[float] = []
    async with azure_readers(StaticTokenCredential(), endpoints, config) as readers:  # untimed: warms the emulator
        await review(spec, timedelta(days=7), readers, clock, config)
    for _ in range(runs):
        # Fresh readers: nothing cached (a cold review, as from the CLI); then a second review on the same
        # readers, the environment's log setup cached (as in `jobbot serve`).
        async with azure_readers(StaticTokenCredential(), endpoints, config) as readers:
            for bucket in (cold, warm):
                started = time.perf_counter()
                report = await review(spec, timedelta(days=7), readers, clock, config)
                bucket.append(time.perf_counter() - started)
                unread = [f.id for f in report.findings if f.status is Status.ERROR and "not read yet" not in f.title]
                assert not unread, unread
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=int, default=400)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with emulator(slowed_scenario(SCENARIO, args.latency_ms)) as (url, ca):
        cold, warm = asyncio.run(measure(url, ca, args.runs))
    print(f"injected latency {args.latency_ms} ms on every upstream call; {args.runs} runs each")
    print(round_trips("cold: review", cold, args.latency_ms))
    print(round_trips("warm: review", warm, args.latency_ms))


if __name__ == "__main__":
    main()
