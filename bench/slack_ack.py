"""Slash-command ack latency and time-to-report under load.

Serves `jobbot serve` (scenario mode, the local emulator in-process) against a fake Slack Web API, with
every upstream Azure call slowed to 2 s, fires N concurrent signed `/jobbot triage` commands and prints
the ack latency p50/p99 (Slack's limit is 3 s) and the time until each report lands (chat.update).

Time to report is bounded by Log Analytics' own limit of 5 concurrent queries per identity, which the bot
honours with one shared limiter: N triages x 5 queries queue in waves of 5.

Usage: python bench/slack_ack.py [--commands 20] [--latency-ms 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _harness import percentile, slowed_scenario  # noqa: E402

from bot.config import parse_config  # noqa: E402
from bot.server import create_app  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.support.served import served  # noqa: E402
from tests.support.slack_fake import FakeSlack  # noqa: E402
from tests.support.slack_requests import sign, slash_command_body  # noqa: E402

SECRET = "bench-signing-secret-0123456789"
SCENARIO = ROOT / "scenarios" / "oom-after-image-change.yaml"


async def fire(url: str, slack: FakeSlack, count: int) -> tuple[list[float], list[float]]:
    async with httpx.AsyncClient(base_url=url, timeout=30, trust_env=False) as http:
        async def one(i: int) -> tuple[float, float]:
            body = slash_command_body("triage orders-processor", user_id=f"U0BENCH{i:03d}",
                                      channel_id=f"C0BENCH{i:03d}", response_url=slack.response_url(f"b{i}"))
            headers = {**sign(SECRET, body), "Content-Type": "application/x-www-form-urlencoded"}
            started = time.perf_counter()
            response = await http.post("/slack/events", content=body, headers=headers)
            acked = time.perf_counter() - started
            assert response.status_code == 200, response.text
            channel = f"C0BENCH{i:03d}"
            await slack.wait_for(lambda: any(c.ok and c.args.get("channel") == channel and " — " in
                                             str(c.args.get("text", "")) for c in slack.calls_to("chat.update")),
                                 timeout=120)
            return acked, time.perf_counter() - started

        results = await asyncio.gather(*(one(i) for i in range(count)))
    finals = {str(c.args.get("text", "")).split(":")[1].split("(")[0].strip() for c in slack.calls_to("chat.update")
              if " — " in str(c.args.get("text", ""))}
    print("verdicts in the reports:", ", ".join(sorted(finals)))
    return [a for a, _ in results], [r for _, r in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commands", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=2000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="jobbot-ack-db-"))
    config = parse_config({"azure": {"check_deadline_s": 30}})

    async def run() -> tuple[list[float], list[float], int]:
        async with FakeSlack() as slack:
            settings = Settings(slack_bot_token="xoxb-bench", slack_signing_secret=SECRET,
                                slack_api_url=slack.api_url, scenario=slowed_scenario(SCENARIO, args.latency_ms),
                                database_url=f"sqlite:///{tmp / 'bench.db'}")
            loop = asyncio.get_running_loop()
            with served(create_app(settings, config)) as url:
                acks, reports = await fire(url, slack, args.commands)
                await loop.run_in_executor(None, lambda: None)
            return acks, reports, len(slack.calls)

    acks, reports, calls = asyncio.run(run())
    print(f"{args.commands} concurrent /jobbot triage, every upstream call {args.latency_ms} ms")
    print(f"ack: p50 {statistics.median(acks) * 1000:.0f} ms, p99 {percentile(acks, 0.99) * 1000:.0f} ms, "
          f"max {max(acks) * 1000:.0f} ms (Slack's limit 3000 ms)")
    print(f"time to report: p50 {statistics.median(reports):.1f} s, p99 {percentile(reports, 0.99):.1f} s; "
          f"{calls} Slack API calls")


if __name__ == "__main__":
    main()
