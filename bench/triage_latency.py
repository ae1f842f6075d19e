"""Triage wall time against the upstream latency it cannot avoid.

Starts the local Azure emulator in its own process (so its KQL engine's CPU does not count against the
bot) serving a bundled scenario with injected latency on every upstream call — by default ARM 300 ms,
each Log Analytics query 600 ms, the queue 200 ms — then triages the job several times and prints:

- cold: a fresh process state (no cached environment -> workspace lookup), the chain is
  job -> environment -> queries, so the floor is ARM + ARM + LOGS;
- warm: the environment's log setup cached (as in `jobbot serve`), the floor is ARM + LOGS;
- the ratio of each to the slowest single upstream call and to its dependency chain.

The change-evidence reads (issue 10: Resource Graph `resourcechanges`, the job identity's role
assignments, the environment's resource) are in the scenario and in the triage: through the checks that
need them once a check does, until then through a probe check that needs `changes:resourcegraph`,
`changes:roles` and `resource:environment`. They depend on the job only, so they join the same
concurrent round and the floor stays the same. The workspace named by customer id only is located through
Resource Graph (for the report's links) after the environment, beside the queries: the floor stays too.

Usage: python bench/triage_latency.py [--arm-ms 300] [--logs-ms 600] [--queue-ms 200] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _harness import start_emulator, written  # noqa: E402

from bot.azure.credentials import StaticTokenCredential  # noqa: E402
from bot.azure.endpoints import Endpoints  # noqa: E402
from bot.azure.wiring import azure_readers  # noqa: E402
from bot.clock import FixedClock  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.emulator.scenario import load_scenario  # noqa: E402
from bot.evidence.registry import CHECKS, Check  # noqa: E402
from bot.evidence.sources import Sources  # noqa: E402
from bot.intake import parse_job  # noqa: E402
from bot.model import CheckResult, CheckStatus  # noqa: E402
from bot.triage import triage  # noqa: E402

SCENARIO = ROOT / "scenarios" / "oom-after-image-change.yaml"


PRINCIPAL = "6f1c2c55-5b0a-4f8e-9a44-2f5a8d3c9e01"
WORKSPACE = ("/subscriptions/{sub}/resourceGroups/rg-monitoring/providers/Microsoft.OperationalInsights/"
             "workspaces/law-bench")
CHANGE_NEEDS = ("changes:resourcegraph", "changes:roles", "resource:environment")


def with_change_evidence(data: dict) -> dict:
    """The scenario plus what the change reads find: an identity on the job, one of its role assignments,
    and the job's writes in Resource Graph's change history."""
    job = data["jobs"][0]
    job["identity"] = {"type": "SystemAssigned", "principalId": PRINCIPAL, "tenantId": PRINCIPAL}
    scope = job["id"].split("/providers/")[0]
    data["role_assignments"] = [{
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/bench-1",
        "name": "bench-1",
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a"
                       "-b874-0445c86b69e6", "principalId": PRINCIPAL, "principalType": "ServicePrincipal",
                       "scope": scope},
    }]
    # The workspace, known to the environment by customer id only: located through Resource Graph beside the
    # queries (issue 17 item 7), so the report has its Log Analytics links.
    data.setdefault("resources", []).append({
        "id": WORKSPACE.format(sub=data["subscription"]), "name": "law-bench",
        "type": "Microsoft.OperationalInsights/workspaces", "location": "westeurope",
        "properties": {"customerId": data["workspace_id"]}})
    data["resource_changes"] = [{
        "properties": {
            "targetResourceId": job["id"],
            "targetResourceType": "Microsoft.App/jobs",
            "changeType": "Update",
            "changeAttributes": {"timestamp": job["systemData"]["lastModifiedAt"],
                                 "changedBy": job["systemData"]["lastModifiedBy"], "changedByType": "User",
                                 "clientType": "Azure CLI", "operation": "Microsoft.App/jobs/write"},
            "changes": {"properties.template.containers[0].image": {"previousValue": "orders:1.4.2",
                                                                    "newValue": "orders:1.5.0"}},
        }
    }]
    return data


async def _probe(sources: Sources) -> CheckResult:
    rows = await sources.resource_changes()
    roles = await sources.role_assignments()
    await sources.resource(sources.job.environment_id)
    return CheckResult("change_reads", CheckStatus.OK, f"{len(rows)} changes, {len(roles)} role assignments")


def checks_with_change_reads() -> tuple[Check, ...]:
    """The registry's checks, plus a probe for the change reads if no check needs them yet."""
    needed = {need for check in CHECKS for need in check.needs}
    if set(CHANGE_NEEDS) <= needed:
        return CHECKS
    return (*CHECKS, Check("change_reads", _probe, CHANGE_NEEDS))


def scenario_with_latency(arm_ms: int, logs_ms: int, queue_ms: int) -> Path:
    data = with_change_evidence(yaml.safe_load(SCENARIO.read_text()))
    data["faults"] = [
        {"target": "arm", "path": "/", "latency_ms": arm_ms},
        {"target": "logs", "path": "/query", "latency_ms": logs_ms},
        {"target": "queue", "path": "/", "latency_ms": queue_ms},
    ]
    return written(data)


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
    checks = checks_with_change_reads()
    async with azure_readers(StaticTokenCredential(), endpoints, config) as readers:
        await triage(spec, timedelta(hours=1), readers, clock, config=config, deadline_s=10, checks=checks)
    for _ in range(runs):
        async with azure_readers(StaticTokenCredential(), endpoints, config) as readers:
            for bucket in (cold, warm):  # the second triage on the same readers has the log setup cached
                started = time.perf_counter()
                # fresh: the second triage would otherwise be answered from the first's reads (the shared
                # reads' reuse window); timed here is the chain of reads, not the reuse.
                report = await triage(spec, timedelta(hours=1), readers, clock, config=config, deadline_s=10,
                                      checks=checks, fresh=True)
                bucket.append(time.perf_counter() - started)
                assert report.evidence_complete, [c.summary for c in report.checks if c.status == "error"]
                probe = [c for c in report.checks if c.name == "change_reads"]
                assert not probe or probe[0].summary == "1 changes, 1 role assignments", probe
                assert report.workspace_resource_id, "the workspace was located for the report's links"
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
