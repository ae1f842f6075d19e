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
PostgreSQL: JOBBOT_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres); a throwaway
database is created there and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixtures.alerts.payloads import Storm, storm, storm_world  # noqa: E402
from tests.fixtures.alerts.replicas import deliver_all, parents_by_alert, start_replica, wait_ready  # noqa: E402
from tests.support.db import PostgresServer  # noqa: E402
from tests.support.slack_fake import FakeSlack  # noqa: E402

ALERT_TOKEN = "bench-alert-token-8d3f5a7c21"


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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=100)
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    server = PostgresServer.from_environ()
    reason = server.unreachable_reason()
    if reason:
        print(f"PostgreSQL not reachable at {server.where}: {reason}", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="jobbot-alerts-bench-"))
    world = storm_world(tmp, jobs=args.jobs, logs_for=args.jobs)
    plan = storm(world.jobs, alerts=args.alerts, deliveries=args.deliveries)
    print(f"{len(plan.deliveries)} deliveries of {len(plan.alerts)} alerts ({len(plan.resolved)} later Resolved), "
          f"{args.jobs} jobs and channels, 2 jobbot serve processes on PostgreSQL, concurrency {args.concurrency}")
    with server.temporary_database("jobbot_alerts_bench") as database, FakeSlack.in_thread() as slack:
        replicas = [start_replica(f"replica-{i}", workdir=tmp, scenario=world.scenario, config=world.config,
                                  database=database, slack_api_url=slack.api_url, alert_token=ALERT_TOKEN)
                    for i in range(2)]
        try:
            wait_ready(*replicas)
            started = time.monotonic()
            delivered = asyncio.run(deliver_all([r.url for r in replicas], [d.body for d in plan.deliveries],
                                                ALERT_TOKEN, concurrency=args.concurrency))
            accepted_in = time.monotonic() - started
            state = ""
            while time.monotonic() - started < args.timeout:
                done, state = progress(slack, plan)
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
    print(f"slack showed everything {settled_in:.1f} s after the first delivery: {progress(slack, plan)[1]}")
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
    ok = (len(top) == len(plan.alerts) and set(plan.alerts) <= set(shown) and all(n == 1 for n in per_resolved)
          and ALERT_TOKEN not in logs)
    print("exactly once:", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
