"""An alert storm on two replicas: webhook latency, what reaches Slack, and that it is exactly once.

Starts two `jobbot serve` processes (scenario mode: the local Azure emulator, a world of N jobs each with
its own channel) on one PostgreSQL database and one fake Slack Web API, then delivers D webhook calls for
A distinct alerts (each several times, interleaved, a third of them later Resolved), spread over both
processes. Prints the webhook latency (p50/p99/max), how long until Slack showed everything, the Slack
calls by method, and the checks: one parent per alert, one resolve note per resolved alert, every parent
filled in by its triage, the token in no log line.

Slack's own pacing applies (about one post per second per channel), so the time to settle is mostly
(posts per channel) seconds; the webhook answers do not wait for any of it.

Usage: python bench/alerts_bench.py [--alerts 100] [--deliveries 1000] [--jobs 10] [--concurrency 32]
                                    [--database postgresql|sqlite] [--replicas N] [--same] [--floor]
                                    [--profile DIR] [--incidents]
PostgreSQL: JOBBOT_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres); a throwaway
database is created there and dropped at the end. `--database sqlite` runs one replica on a SQLite file
(SQLite suits one replica); `--same` delivers one alert's Fired body every time (1,000 identical
deliveries); `--floor` first times GET /healthz the same way (the host's HTTP floor: what any answer costs
here now); `--profile DIR` runs the replicas with the probes of bench/profiling/sitecustomize.py and prints
where their time went (webhook steps, store waits, event-loop lag, stack samples). `--incidents` turns
`alerts.incidents` on: the storm's jobs share their environment and registry, so every alert ends in one
environment-wide incident thread in the alert channel (a line and a triage reply per alert, a resolve note per
resolved alert), and the checks are about that thread instead of one parent per alert.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixtures.alerts.payloads import Delivery, Storm, storm, storm_world  # noqa: E402
from tests.fixtures.alerts.replicas import deliver_all, parents_by_alert, start_replica, wait_ready  # noqa: E402
from tests.support.db import PostgresServer  # noqa: E402
from tests.support.slack_fake import FakeSlack  # noqa: E402

ALERT_TOKEN = "bench-alert-token-8d3f5a7c21"
INCIDENT_CHANNEL = "C0BENCHALERTS"  # the alert channel, where incident threads go


def progress(slack: FakeSlack, plan: Storm) -> tuple[bool, str]:
    """Whether Slack shows everything yet: every parent, filled in by its triage, resolved ones resolved."""
    shown = {alert: found[0] for alert, found in parents_by_alert(slack.messages).items()}
    triaged = sum(1 for m in shown.values() if '"jobbot.verdict"' in json.dumps(m.get("blocks")))
    resolved = sum(1 for a in plan.resolved if a in shown and "Resolved" in shown[a]["blocks"][0]["text"]["text"])
    notes = [c for c in slack.ok_calls_to("chat.postMessage")
             if c.args.get("thread_ts") and "resolved" in c.args["text"]]
    state = (f"parents {len(shown)}/{len(plan.alerts)}, triaged {triaged}, resolved shown {resolved}/"
             f"{len(plan.resolved)}, resolve notes {len(notes)}")
    done = len(shown) == len(plan.alerts) and triaged == len(plan.alerts) and resolved == len(plan.resolved) \
        and len(notes) >= len(plan.resolved)
    return done, state


def incident_progress(slack: FakeSlack, plan: Storm) -> tuple[bool, str]:
    """With incidents on: whether Slack shows the one incident yet, with every job, one line and one triage
    reply per alert, and one resolve note per resolved alert; and whether all of it happened exactly once."""
    parents, replies = [], []
    for (channel, ts), message in list(slack.messages.items()):
        if channel == INCIDENT_CHANNEL:
            (parents if message.get("thread_ts", ts) == ts else replies).append(message)
    incidents = [m for m in parents if "Environment-wide incident" in json.dumps(m.get("blocks"))]
    shown = json.dumps(incidents[0]["blocks"]) if incidents else ""
    jobs = sorted(set(plan.alerts.values()))

    def short(alert: str) -> str:
        return alert.rsplit("/", 1)[-1]

    lines = collections.Counter(a for a in plan.alerts for r in replies if f"alert `{short(a)}`" in r["text"])
    resolves = collections.Counter(a for a in plan.resolved for r in replies
                                   if r["text"].startswith(f":white_check_mark: `{short(a)}` resolved"))
    triages = sum(1 for r in replies if r.get("blocks") and any(r["text"].startswith(f"{j}: ") for j in jobs))
    state = (f"incident parents {len(incidents)}, jobs listed {sum(1 for j in jobs if f'*{j}*' in shown)}/{len(jobs)}, "
             f"alert lines {len(lines)}/{len(plan.alerts)}, triage replies {triages}, resolve notes "
             f"{len(resolves)}/{len(plan.resolved)}")
    done = (len(incidents) == 1 and all(f"*{j}*" in shown for j in jobs) and len(lines) == len(plan.alerts)
            and triages >= len(plan.alerts) and len(resolves) == len(plan.resolved))
    once = (done and all(n == 1 for n in lines.values()) and all(n == 1 for n in resolves.values())
            and triages == len(plan.alerts))
    return done, state + ("" if not done else f"; each exactly once: {'yes' if once else 'NO'}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def identical(plan: Storm, deliveries: int) -> Storm:
    """`deliveries` copies of the storm's first Fired delivery: one alert, one parent, nothing resolved."""
    first = next(d for d in plan.deliveries if d.condition == "Fired")
    return Storm(tuple(Delivery(first.alert, first.condition, first.body) for _ in range(deliveries)),
                 {first.alert: plan.alerts[first.alert]}, frozenset())


def http_floor(urls: list[str], requests: int, concurrency: int) -> str:
    """GET /healthz `requests` times over `urls`, `concurrency` at a time, from this client: what any answer
    costs on this host now (HTTP, the event loop, the CPU left over), whatever the webhook does."""
    async def run() -> tuple[list[float], float]:
        gate = asyncio.Semaphore(concurrency)
        latencies: list[float] = []
        async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
            async def one(i: int) -> None:
                async with gate:
                    sent = time.perf_counter()
                    (await http.get(f"{urls[i % len(urls)]}/healthz")).raise_for_status()
                    latencies.append(time.perf_counter() - sent)

            began = time.monotonic()
            await asyncio.gather(*(one(i) for i in range(requests)))
            return latencies, time.monotonic() - began

    latencies, took = asyncio.run(run())
    ms = [x * 1000 for x in latencies]
    return (f"HTTP floor (GET /healthz x{requests}, concurrency {concurrency}): p50 {percentile(ms, 0.5):.1f} ms, "
            f"p99 {percentile(ms, 0.99):.1f} ms, {len(ms) / took:.0f}/s")


def profile_report(folder: Path) -> None:
    """Print what the replicas' probes recorded (bench/profiling/sitecustomize.py), all processes together."""
    spans: dict[str, list[float]] = collections.defaultdict(list)
    lag: list[float] = []
    samples: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    cpu: list[str] = []
    for dump in sorted(folder.glob("*.json")):
        data = json.loads(dump.read_text())
        window = data.get("window") or {}
        if window.get("first"):
            wall = window["last"] - window["first"]
            cpu.append(f"{window['cpu_last'] - window['cpu_first']:.1f} s CPU in {wall:.1f} s")
        for name, values in data["spans"].items():
            spans[name] += values
        lag += data["lag"]
        samples.update(data["samples"])
        threads.update(data["threads"])
    print(f"\nprofile ({len(list(folder.glob('*.json')))} processes): span count, p50, p99, total")
    for name in sorted(spans):
        ms = [v * 1000 for v in spans[name]]
        print(f"  {name:<72} {len(ms):>6}  p50 {percentile(ms, 0.5):8.2f} ms  p99 {percentile(ms, 0.99):8.2f} ms"
              f"  total {sum(ms) / 1000:7.2f} s")
    if lag:
        ms = [v * 1000 for v in lag]
        print(f"  event loop lag (10 ms sleep woken late by)  p50 {percentile(ms, 0.5):.1f} ms, p99 "
              f"{percentile(ms, 0.99):.1f} ms, max {max(ms):.1f} ms, late over 50 ms: {sum(1 for v in ms if v > 50)}")
    print("  each process while deliveries came in: " + "; ".join(cpu))
    total = sum(threads.values()) or 1
    print("  thread samples (5 ms): " + ", ".join(f"{n} {c * 100 / total:.0f}%" for n, c in threads.most_common(8)))
    busy = sum(samples.values()) or 1
    print("  busy samples by innermost jobbot function <- leaf:")
    for name, count in samples.most_common(25):
        print(f"    {count * 100 / busy:5.1f}%  {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=100)
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--replicas", type=int, default=None, help="jobbot serve processes (default: 2 on "
                        "PostgreSQL, 1 on SQLite)")
    parser.add_argument("--same", action="store_true", help="every delivery the same alert's same body")
    parser.add_argument("--floor", action="store_true", help="first measure GET /healthz the same way: the "
                        "host's HTTP floor, with no store and no alert work")
    parser.add_argument("--incidents", action="store_true", help="alerts.incidents on: the storm is one "
                        "environment-wide incident (the jobs share their environment and registry)")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="probe the replicas and print where their time went (slows them a little)")
    args = parser.parse_args()
    replicas_wanted = args.replicas or (2 if args.database == "postgresql" else 1)

    server = PostgresServer.from_environ()
    if args.database == "postgresql":
        reason = server.unreachable_reason()
        if reason:
            print(f"PostgreSQL not reachable at {server.where}: {reason}", file=sys.stderr)
            return 2
    tmp = Path(tempfile.mkdtemp(prefix="jobbot-alerts-bench-"))
    world = storm_world(tmp, jobs=args.jobs, logs_for=args.jobs, incidents=args.incidents)
    check = incident_progress if args.incidents else progress
    plan = storm(world.jobs, alerts=args.alerts, deliveries=args.deliveries)
    if args.same:
        plan = identical(plan, args.deliveries)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        for old in args.profile.glob("*.json"):
            old.unlink()
        os.environ["ALERTS_BENCH_PROFILE"] = str(args.profile.resolve())
        os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "bench" / "profiling"), str(ROOT),
                                                    os.environ.get("PYTHONPATH", "")])
    print(f"{len(plan.deliveries)} deliveries of {len(plan.alerts)} alerts ({len(plan.resolved)} later Resolved), "
          f"{args.jobs} jobs and channels, {replicas_wanted} jobbot serve processes on {args.database}, "
          f"concurrency {args.concurrency}, incidents {'on' if args.incidents else 'off'}")
    store: contextlib.AbstractContextManager[str] = (
        server.temporary_database("jobbot_alerts_bench") if args.database == "postgresql"
        else contextlib.nullcontext(f"sqlite:///{tmp / 'jobbot.db'}"))
    with store as database, FakeSlack.in_thread() as slack:
        replicas = [start_replica(f"replica-{i}", workdir=tmp, scenario=world.scenario, config=world.config,
                                  database=database, slack_api_url=slack.api_url, alert_token=ALERT_TOKEN,
                                  alert_channel=INCIDENT_CHANNEL if args.incidents else None)
                    for i in range(replicas_wanted)]
        try:
            wait_ready(*replicas)
            if args.floor:
                print(http_floor([r.url for r in replicas], len(plan.deliveries), args.concurrency))
            started = time.monotonic()
            delivered = asyncio.run(deliver_all([r.url for r in replicas], [d.body for d in plan.deliveries],
                                                ALERT_TOKEN, concurrency=args.concurrency))
            accepted_in = time.monotonic() - started
            state = ""
            while time.monotonic() - started < args.timeout:
                done, state = check(slack, plan)
                if done:
                    break
                time.sleep(0.5)
            else:
                print(f"NOT SETTLED after {args.timeout:.0f} s: {state}")
            settled_in = time.monotonic() - started
            time.sleep(3)  # anything late or doubled would show now
        finally:
            for replica in replicas:
                replica.stop()

    ms = [x * 1000 for x in delivered.latencies_s]
    print(f"webhook: {dict(delivered.statuses)} in {accepted_in:.1f} s ({len(ms) / accepted_in:.0f}/s), "
          f"{delivered.retried} resent after a network error")
    print(f"webhook latency: p50 {percentile(ms, 0.5):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms, "
          f"max {max(ms):.1f} ms, mean {statistics.mean(ms):.1f} ms")
    print(f"slack showed everything {settled_in:.1f} s after the first delivery: {check(slack, plan)[1]}")
    calls = collections.Counter((c.method, c.status) for c in slack.calls)
    print("slack calls:", ", ".join(f"{m} {s}: {n}" for (m, s), n in sorted(calls.items())))
    shown = parents_by_alert(slack.messages)
    top = [c for c in slack.ok_calls_to("chat.postMessage") if not c.args.get("thread_ts")]
    notes = collections.Counter(c.args["thread_ts"] for c in slack.ok_calls_to("chat.postMessage")
                                if c.args.get("thread_ts") and "resolved" in c.args["text"])
    per_resolved = [notes.get(shown[a][0]["ts"], 0) if a in shown else 0 for a in plan.resolved]
    print(f"parents: {len(top)} posted for {len(plan.alerts)} alerts, {len(set(plan.alerts) - set(shown))} missing, "
          f"{sum(1 for m in shown.values() if len(m) > 1)} doubled; resolve notes per resolved alert: "
          f"{dict(collections.Counter(per_resolved))}")
    logs = "".join(r.output() for r in replicas)
    print(f"token in replica logs: {'YES' if ALERT_TOKEN in logs else 'no'}; errors logged: {logs.count(' ERROR ')}")
    if args.incidents:  # one incident thread; any parent of its own went out before the incident was seen
        own = [c for c in top if c.args.get("channel") != INCIDENT_CHANNEL]
        folded = sum(1 for (ch, ts), m in slack.messages.items() if ch != INCIDENT_CHANNEL
                     and m.get("thread_ts", ts) == ts and "Part of an environment-wide incident" in json.dumps(m))
        print(f"parents of their own (posted before the incident was seen): {len(own)}, all pointing to it: "
              f"{'yes' if folded == len(own) else 'NO'}")
        ok = check(slack, plan)[1].endswith("exactly once: yes") and folded == len(own) and ALERT_TOKEN not in logs
    else:
        ok = (len(top) == len(plan.alerts) and set(plan.alerts) <= set(shown) and all(n == 1 for n in per_resolved)
              and ALERT_TOKEN not in logs)
    print("exactly once:", "yes" if ok else "NO")
    if args.profile:
        profile_report(args.profile)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
