"""Soak: one `jobbot serve` on PostgreSQL under mixed valid and malformed traffic for a long time.

Starts `jobbot serve` (scenario mode: the local Azure emulator, a world of a few jobs) on a throwaway
PostgreSQL database and a fake Slack Web API, then for --minutes sends, at --rate requests per second:
signed slash commands (mostly `help`, some triages, some random text), unsigned and badly signed Slack
bodies, random interactivity payloads, alert deliveries (a small set of alerts, delivered again and again),
bad-token deliveries and malformed alert bodies (random bytes, deep nesting, lone surrogates).

Prints, after a warm-up and again at the end: the serve process's RSS and open file descriptors, and the
p99 ack latency of signed slash commands over the last minute; then the growth. Exit status 1 when RSS grew
by 20 % or more, descriptors grew by more than 10, or any request got a 5xx.

Usage: python bench/soak.py [--minutes 30] [--rate 10] [--warmup-s 60]
PostgreSQL: JOBBOT_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixtures.alerts.payloads import alert_id, job_id, metric_alert, storm_world  # noqa: E402
from tests.fixtures.alerts.replicas import SIGNING_SECRET, start_replica, wait_ready  # noqa: E402
from tests.support.db import PostgresServer  # noqa: E402
from tests.support.slack_fake import FakeSlack  # noqa: E402
from tests.support.slack_requests import block_actions_payload, sign, slash_command_body  # noqa: E402

ALERT_TOKEN = "soak-alert-token-5b2e9c41d7"
FORM = "application/x-www-form-urlencoded"


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def open_fds(pid: int) -> int:
    return sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))] if ordered else float("nan")


class Traffic:
    """One request of the mix at a time; records statuses and slash-command ack latencies."""

    def __init__(self, url: str, slack: FakeSlack, jobs: tuple[str, ...]) -> None:
        self.url, self.slack, self.jobs = url, slack, jobs
        self.statuses: collections.Counter[tuple[str, int]] = collections.Counter()
        self.acks: list[tuple[float, float]] = []  # (when, latency ms)
        self.random = random.Random(7)

    async def one(self, http: httpx.AsyncClient) -> None:
        kind = self.random.choices(
            ["command", "unsigned", "click", "alert", "bad-token", "malformed"], [30, 10, 10, 10, 25, 15])[0]
        r = self.random
        if kind == "command":
            text = r.choice(["help", "help", "help", f"triage {r.choice(self.jobs)}", "jobs",
                             "".join(r.choice("abc xyz-/?!é") for _ in range(r.randint(0, 40)))])
            body = slash_command_body(text, response_url=self.slack.response_url("soak"))
            started = time.perf_counter()
            response = await http.post("/slack/events", content=body,
                                       headers={**sign(SIGNING_SECRET, body), "Content-Type": FORM})
            self.acks.append((time.monotonic(), (time.perf_counter() - started) * 1000))
        elif kind == "unsigned":
            body = r.choice([slash_command_body("triage x"), r.randbytes(r.randint(0, 500))])
            response = await http.post("/slack/events", content=body,
                                       headers={"X-Slack-Request-Timestamp": r.choice(["abc", str(int(time.time()))]),
                                                "X-Slack-Signature": "v0=" + r.randbytes(32).hex(),
                                                "Content-Type": FORM})
        elif kind == "click":
            payload = block_actions_payload(r.choice(["jobbot.alert.ack", "jobbot.checklist.done"]),
                                            r.randbytes(8).hex(), message_ts="1.2")
            raw = r.choice([json.dumps(payload), "[1]", "{", json.dumps({"type": "block_actions"})])
            body = urlencode({"payload": raw}).encode()
            response = await http.post("/slack/events", content=body,
                                       headers={**sign(SIGNING_SECRET, body), "Content-Type": FORM})
        elif kind == "alert":
            job = r.choice(self.jobs)
            body = metric_alert(alert_id(f"soak-{r.randint(0, 40)}"), f"soak-rule-{job}", job_id(job))
            response = await http.post("/alerts/azure-monitor", params={"token": ALERT_TOKEN}, json=body)
        elif kind == "bad-token":
            response = await http.post("/alerts/azure-monitor", params={"token": r.randbytes(6).hex()},
                                       content=b"{}")
        else:
            body = r.choice([r.randbytes(r.randint(0, 3000)), b"[" * 20000, b'{"x": "\\ud800"}',
                             json.dumps({"schemaId": "azureMonitorCommonAlertSchema", "data": 5}).encode()])
            response = await http.post("/alerts/azure-monitor", params={"token": ALERT_TOKEN}, content=body)
        self.statuses[(kind, response.status_code)] += 1

    def last_minute_p99(self) -> float:
        since = time.monotonic() - 60
        return p99([ms for when, ms in self.acks if when >= since])


async def run(url: str, traffic: Traffic, pid: int, minutes: float, rate: float, warmup_s: float) -> dict[str, float]:
    figures: dict[str, float] = {}
    interval = 1 / rate
    async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=30) as http:
        pending: set[asyncio.Task[None]] = set()
        started = time.monotonic()
        end = started + warmup_s + minutes * 60
        sampled = False
        next_report = started + 300
        while time.monotonic() < end:
            task = asyncio.create_task(traffic.one(http))
            pending.add(task)
            task.add_done_callback(pending.discard)
            await asyncio.sleep(interval)
            now = time.monotonic()
            if not sampled and now - started >= warmup_s:
                figures.update(rss_start=rss_kb(pid), fds_start=open_fds(pid), p99_start=traffic.last_minute_p99())
                print(f"after warm-up: RSS {figures['rss_start'] / 1024:.1f} MB, {figures['fds_start']:.0f} fds, "
                      f"p99 ack {figures['p99_start']:.1f} ms", flush=True)
                sampled = True
            if now >= next_report:
                print(f"  {int((now - started) / 60)} min: RSS {rss_kb(pid) / 1024:.1f} MB, {open_fds(pid)} fds, "
                      f"p99 ack {traffic.last_minute_p99():.1f} ms, {sum(traffic.statuses.values())} requests",
                      flush=True)
                next_report += 300
        await asyncio.gather(*pending, return_exceptions=True)
    await asyncio.sleep(5)  # let in-flight work settle before the last sample
    figures.update(rss_end=rss_kb(pid), fds_end=open_fds(pid), p99_end=traffic.last_minute_p99())
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=float, default=10, help="requests per second")
    parser.add_argument("--warmup-s", type=float, default=60)
    parser.add_argument("--jobs", type=int, default=3)
    args = parser.parse_args()

    server = PostgresServer.from_environ()
    reason = server.unreachable_reason()
    if reason:
        print(f"PostgreSQL not reachable at {server.where}: {reason}", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="jobbot-soak-"))
    world = storm_world(tmp, jobs=args.jobs, logs_for=1)
    with server.temporary_database("jobbot_soak") as database, FakeSlack.in_thread() as slack:
        replica = start_replica("soak", workdir=tmp, scenario=world.scenario, config=world.config,
                                database=database, slack_api_url=slack.api_url, alert_token=ALERT_TOKEN)
        try:
            wait_ready(replica)
            pid = replica.process.pid
            print(f"jobbot serve pid {pid} on PostgreSQL: {args.minutes:g} min at {args.rate:g} req/s after a "
                  f"{args.warmup_s:g} s warm-up", flush=True)
            traffic = Traffic(replica.url, slack, world.jobs)
            figures = asyncio.run(run(replica.url, traffic, pid, args.minutes, args.rate, args.warmup_s))
            alive = replica.process.poll() is None
        finally:
            replica.stop()
        logs = replica.output()
    growth = (figures["rss_end"] - figures["rss_start"]) / figures["rss_start"] * 100
    fd_growth = figures["fds_end"] - figures["fds_start"]
    five_xx = {k: n for k, n in traffic.statuses.items() if k[1] >= 500}
    print(f"end: RSS {figures['rss_end'] / 1024:.1f} MB, {figures['fds_end']:.0f} fds, "
          f"p99 ack {figures['p99_end']:.1f} ms")
    print(f"RSS growth {growth:+.1f} %, descriptors {fd_growth:+.0f}; process alive: {alive}")
    print("answers:", ", ".join(f"{k}/{s}: {n}" for (k, s), n in sorted(traffic.statuses.items())))
    print(f"5xx: {five_xx or 'none'}; tracebacks in the log: {logs.count('Traceback')}; "
          f"token in the log: {'YES' if ALERT_TOKEN in logs else 'no'}")
    ok = alive and growth < 20 and fd_growth <= 10 and not five_xx and ALERT_TOKEN not in logs
    print("soak:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
