"""Evidence pack wall time in round trips of upstream latency, beside the review it extends.

Same set-up as `bench/review_latency.py` (the emulator in its own process serving `scenarios/review-clean.yaml`
with the same latency injected on every upstream call). The pack adds three reads: the job's definition and
the environment's diagnostic settings start with the review's round, the Activity Log query starts when the
review is done (the workspace is known by then), so a pack should cost the review's rounds plus about one.

Usage: python bench/evidence_pack_latency.py [--latency-ms 400] [--runs 5]
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

from bot.azure.credentials import StaticTokenCredential, reader_identity  # noqa: E402
from bot.azure.endpoints import Endpoints  # noqa: E402
from bot.azure.wiring import azure_readers  # noqa: E402
from bot.clock import FixedClock  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.emulator.scenario import load_scenario  # noqa: E402
from bot.intake import parse_job  # noqa: E402
from bot.review.pack_service import evidence_pack  # noqa: E402
from bot.review.service import review  # noqa: E402

SCENARIO = ROOT / "scenarios" / "review-clean.yaml"


async def measure(url: str, ca: str, runs: int) -> tuple[list[float], list[float]]:
    scenario = load_scenario(SCENARIO)
    endpoints = Endpoints(arm=url, logs=url, queue_account=url + "/{account}", ca_file=ca)
    config = Config(subscriptions=(scenario.subscription,), check_deadline_s=20)
    clock = FixedClock(scenario.now)
    spec = parse_job(scenario.expect["job"])  # type: ignore[index]
    reviews: list[float] = []
    packs: list[float] = []
    async with azure_readers(StaticTokenCredential(), endpoints, config) as readers:  # untimed: warms the emulator
        await evidence_pack(spec, timedelta(days=7), 30, readers, clock, config, reader=reader_identity(scenario=True))
    for _ in range(runs):
        async with azure_readers(StaticTokenCredential(), endpoints, config) as readers:  # cold, as from the CLI
            started = time.perf_counter()
            await review(spec, timedelta(days=7), readers, clock, config)
            reviews.append(time.perf_counter() - started)
        async with azure_readers(StaticTokenCredential(), endpoints, config) as readers:
            started = time.perf_counter()
            _, files = await evidence_pack(spec, timedelta(days=7), 30, readers, clock, config,
                                           reader=reader_identity(scenario=True))
            packs.append(time.perf_counter() - started)
            assert len(files) == 12
    return reviews, packs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=int, default=400)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with emulator(slowed_scenario(SCENARIO, args.latency_ms)) as (url, ca):
        reviews, packs = asyncio.run(measure(url, ca, args.runs))
    print(f"injected latency {args.latency_ms} ms on every upstream call; {args.runs} runs each, cold readers")
    print(round_trips("review", reviews, args.latency_ms))
    print(round_trips("review + evidence pack", packs, args.latency_ms))


if __name__ == "__main__":
    main()
