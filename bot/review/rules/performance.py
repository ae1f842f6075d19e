"""Performance rules PERF-01 … PERF-07 (review.md §1)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from bot.errors import NotApplicable
from bot.evidence.payloads import ExitCodesEvidence, MemoryEvidence, QueueEvidence
from bot.kql import quote
from bot.review.cost import money_text, monthly, size_of
from bot.review.facts import Facts, NotRead
from bot.review.findings import Evidence, Fix, Money, Outcome, Pillar, Status
from bot.review.log_reads import Startup, az_logs, startup
from bot.review.overlap import peak_overlap
from bot.review.rule import Rule, az_job, job_source, rule
from bot.review.spend import extra_replicas, spend

RULES: list[Rule] = []
PERF = Pillar.PERFORMANCE
DEFAULT_TARGET = 5  # KEDA's default queueLength / messageCount
TARGET_KEYS = ("queueLength", "messageCount", "activationQueueLength")
HEADROOM_WARN = 0.9
PRESSURE_WARN, PRESSURE_FAIL = 0.85, 0.95
STARTUP_WARN_S, PULL_WARN_S = 60.0, 30.0  # review.md PERF-02: p95 start-up / image pull
CORES_WARN = 0.8  # review.md PERF-06: warn above 80 % of the free cores, fail above all of them
CONSUMPTION_CORES = "ManagedEnvironmentConsumptionCores"  # the usage name the Container Apps API reports
# Dedicated profiles by the letter of their type (D4 … D32, E4 … E32): the environment quota of their cores.
DEDICATED_CORES = {"D": "ManagedEnvironmentGeneralPurposeCores", "E": "ManagedEnvironmentMemoryOptimizedCores"}
STARTUP_SOURCE = "execution_durations.kql (system logs)"
STARTUP_EVENTS = "SuccessfulCreate → ContainerStarted, PullingImage → PulledImage"


def _startup(f: Facts) -> Startup:
    return startup(f.rows("execution_durations"))


def _startup_cmd(f: Facts) -> str:
    job = quote(f.job.ref.name)  # the one helper that makes a value KQL text
    return az_logs(
        f,
        f"ContainerAppSystemLogs_CL | where JobName_s =~ {job} and Reason_s in (\"SuccessfulCreate\", "
        "\"ContainerStarted\", \"PullingImage\", \"PulledImage\") | project TimeGenerated, ExecutionName_s, Reason_s",
        f"ContainerAppSystemLogs | where JobName =~ {job} and Reason in (\"SuccessfulCreate\", \"ContainerStarted\", "
        "\"PullingImage\", \"PulledImage\") | project TimeGenerated, ReplicaName, Reason")


@rule(RULES, "PERF-01", PERF, "medium", "Pickup latency")
def pickup_latency(f: Facts) -> Outcome:
    f.event_only()
    polling, slo = f.job.polling_interval_s, f.settings.pickup_slo_s
    measured = _startup(f)
    p95 = measured.p95_s
    evidence = Evidence(job_source(f) + " + " + STARTUP_SOURCE, "scale.pollingInterval + p95 start-up",
                        {"pollingInterval": polling, "p95_startup_s": None if p95 is None else round(p95, 1),
                         "pickup_slo_s": slo})
    fix = Fix(az_job(f, "properties.configuration.eventTriggerConfig.scale.pollingInterval"))
    if polling > slo:
        return Outcome(Status.WARN, f"A message can wait {polling} s for the next poll alone, over the "
                                    f"{slo:g} s pickup objective", evidence,
                       Fix(fix.verify, f"scale:\n-  pollingInterval: {polling}\n+  pollingInterval: "
                                       f"{max(1, int(slo // 2))}"))
    if p95 is None:
        raise NotApplicable("no execution started in the window, so start-up time is unknown")
    pickup = polling + p95
    text = f"Pickup up to {pickup:.0f} s (poll {polling} s + p95 start-up {p95:.0f} s)"
    if pickup > slo:
        return Outcome(Status.WARN, f"{text}, over the {slo:g} s pickup objective", evidence, fix)
    return Outcome(Status.OK, f"{text}, within {slo:g} s", evidence, fix)


@rule(RULES, "PERF-02", PERF, "medium", "Start-up and image pull", "WAF:streamlined-images")
def startup_time(f: Facts) -> Outcome:
    measured = _startup(f)
    p95, pull = measured.p95_s, measured.pull_p95_s
    evidence = Evidence(STARTUP_SOURCE, STARTUP_EVENTS, measured.observed())
    fix = Fix(_startup_cmd(f))
    if p95 is None and pull is None:
        raise NotApplicable("no execution started in the window")
    slow = []
    if p95 is not None and p95 > STARTUP_WARN_S:
        slow.append(f"p95 start-up {p95:.0f} s (over {STARTUP_WARN_S:g} s; slowest {measured.slowest})")
    if pull is not None and pull > PULL_WARN_S:
        slow.append(f"p95 image pull {pull:.0f} s (over {PULL_WARN_S:g} s: a smaller image or a nearer registry)")
    if slow:
        return Outcome(Status.WARN, "Slow to start: " + "; ".join(slow), evidence, fix)
    parts = [f"p95 start-up {p95:.0f} s" if p95 is not None else "",
             f"p95 image pull {pull:.0f} s" if pull is not None else "no image pulls (cached)"]
    return Outcome(Status.OK, ", ".join(p for p in parts if p), evidence, fix)


@rule(RULES, "PERF-03", PERF, "medium", "Scale target matches the batch")
def scale_target(f: Facts) -> Outcome:
    f.event_only()
    targets = {r.name: int(next((r.metadata[k] for k in TARGET_KEYS[:2] if r.metadata.get(k, "").isdigit()),
                                DEFAULT_TARGET)) for r in f.job.rules}
    batch = f.settings.messages_per_execution
    evidence = Evidence(job_source(f), "scale.rules[].metadata.queueLength|messageCount (default 5)",
                        {"targets": targets, "messages_per_execution": batch})
    fix = Fix(az_job(f, "properties.configuration.eventTriggerConfig.scale.rules[].metadata"))
    over = sorted(name for name, target in targets.items() if target > batch)
    if over:
        name = over[0]
        return Outcome(Status.WARN, f"Rule {name} starts one execution per {targets[name]} messages but an execution "
                                    f"takes {batch}: the rest wait for the next poll", evidence,
                       Fix(fix.verify, f"metadata:\n-  queueLength: '{targets[name]}'\n+  queueLength: '{batch}'"))
    if not targets:
        raise NotApplicable("the job has no scale rules")
    return Outcome(Status.OK, f"Scale targets match {batch} message(s) per execution", evidence, fix)


def peak_concurrency(f: Facts) -> int:
    """Most executions running at once in the window, from ARM start/end times (a running one until now)."""
    spans = ((e.start, e.end if e.end is not None and e.status.value not in ("Running", "Processing") else f.now)
             for e in f.executions() if e.start is not None)
    return peak_overlap((start, end) for start, end in spans if end >= f.window.start and start <= f.window.end)


@rule(RULES, "PERF-04", PERF, "medium", "Saturation headroom")
def headroom(f: Facts) -> Outcome:
    f.event_only()
    peak, limit = peak_concurrency(f), f.job.max_executions
    try:
        queue: QueueEvidence | None = f.evidence("queue_depth", QueueEvidence)
    except (NotRead, NotApplicable):
        queue = None
    evidence = Evidence("executions (ARM) + triage check queue_depth", "peak running vs scale.maxExecutions",
                        {"peak_running": peak, "maxExecutions": limit,
                         "depth": queue.depth if queue else None, "capacity": queue.capacity if queue else None})
    fix = Fix(az_job(f, "properties.configuration.eventTriggerConfig.scale.maxExecutions"))
    if peak >= limit and queue is not None and queue.depth > queue.capacity:
        return Outcome(Status.FAIL, f"At maxExecutions ({limit}) with {queue.depth} messages waiting: not enough "
                                    "capacity", evidence, fix)
    if peak >= limit * HEADROOM_WARN:
        return Outcome(Status.WARN, f"Peak {peak} executions at once, ≥ 90 % of maxExecutions {limit}", evidence, fix)
    return Outcome(Status.OK, f"Peak {peak} executions at once of maxExecutions {limit}", evidence, fix)


@rule(RULES, "PERF-05", PERF, "high", "Memory and CPU pressure")
def pressure(f: Facts) -> Outcome:
    try:
        codes = f.evidence("exit_codes", ExitCodesEvidence)
        killed = next((c for c in codes.codes if c.code == 137), None)
    except (NotRead, NotApplicable):
        killed = None
    fix = Fix(az_job(f, "properties.template.containers[].resources"))
    if killed is not None:
        return Outcome(Status.FAIL, f"Exit code 137 (killed) in {killed.executions} executions",
                       Evidence("triage check exit_codes", "exit code 137", killed.executions), fix)
    memory = f.evidence("memory", MemoryEvidence)
    evidence = Evidence("metric Usage Bytes (triage check memory)", "peak / memory request",
                        {"peak_bytes": memory.peak_bytes, "limit_bytes": memory.limit_bytes, "ratio": memory.ratio})
    if memory.ratio is None:
        raise NotRead("the memory request is unknown, so the peak cannot be compared")
    text = f"Peak memory {memory.ratio:.0%} of the request"
    if memory.ratio >= PRESSURE_FAIL:
        return Outcome(Status.FAIL, text, evidence, fix)
    return Outcome(Status.WARN if memory.ratio >= PRESSURE_WARN else Status.OK, text, evidence, fix)


def _quota_name(f: Facts) -> str:
    """The environment usage that bounds the job's cores: its workload profile's kind of cores."""
    profile = (f.job.workload_profile or "Consumption").lower()
    if profile == "consumption":
        return CONSUMPTION_CORES
    kinds = {str(p.get("name", "")).lower(): str(p.get("workloadProfileType", ""))
             for p in (f.environment().get("properties") or {}).get("workloadProfiles") or []}
    family = DEDICATED_CORES.get(kinds.get(profile, "")[:1].upper())
    if family is None:
        raise NotRead(f"no core quota is known for the workload profile {f.job.workload_profile} "
                      f"({kinds.get(profile) or 'type not stated'})")
    return family


def _usage_names(usage: Mapping[str, Any]) -> set[str]:
    """A usage's name and its localized name without spaces ("Managed Environment General Purpose Cores")."""
    name = usage.get("name") or {}
    return {str(name.get(k) or "").replace(" ", "").lower() for k in ("value", "localizedValue")} - {""}


@rule(RULES, "PERF-06", PERF, "medium", "Environment cores", "WAF:resource-quotas")
def environment_cores(f: Facts) -> Outcome:
    size = size_of(f.job.containers)
    if size is None:
        raise NotRead("the job's template states no cpu")
    wanted = _quota_name(f)
    usage = next((u for u in f.usages() if wanted.lower() in _usage_names(u)), None)
    if usage is None:
        raise NotRead(f"the environment reports no {wanted} usage")
    used, limit = float(usage.get("currentValue") or 0), float(usage.get("limit") or 0)
    # At full scale every execution runs `parallelism` replicas of the template's cores at once.
    executions = f.job.max_executions if f.job.trigger_type.lower() == "event" else 1
    need = executions * f.job.parallelism * size.cpu
    free = limit - used
    env_name = f.job.environment_id.rstrip("/").rsplit("/", 1)[-1]
    evidence = Evidence(f"GET Microsoft.App/managedEnvironments/{env_name}/usages",
                        f"{wanted}: limit − currentValue vs maxExecutions × parallelism × cpu",
                        {"limit": limit, "used": used, "free": round(free, 2), "need_at_full_scale": round(need, 2),
                         "maxExecutions": executions, "parallelism": f.job.parallelism, "cpu": size.cpu})
    group = f.job.environment_id.split("/resourceGroups/", 1)[-1].split("/", 1)[0] or f.job.ref.resource_group
    fix = Fix(f"az containerapp env list-usages --name {shlex.quote(env_name)} --resource-group {shlex.quote(group)}")
    text = (f"At full scale the job needs {need:g} cores ({executions} × {f.job.parallelism} × {size.cpu:g} vCPU); "
            f"the environment has {free:g} of {limit:g} free")
    if need > free:
        return Outcome(Status.FAIL, f"{text}: executions beyond that wait for cores (\"Maximum Allowed Cores "
                                    "exceeded\"); lower maxExecutions or raise the environment's quota",
                       evidence, fix)
    if need > free * CORES_WARN:
        return Outcome(Status.WARN, f"{text}: over {CORES_WARN:.0%} of what is free", evidence, fix)
    return Outcome(Status.OK, text, evidence, fix)


@rule(RULES, "PERF-07", PERF, "medium", "Replicas per execution")
def replicas_per_execution(f: Facts) -> Outcome:
    job = f.job
    needed = job.replica_completion_count or job.parallelism
    evidence = Evidence(job_source(f), "properties.configuration.*TriggerConfig.{parallelism,replicaCompletionCount}",
                        {"parallelism": job.parallelism, "replicaCompletionCount": job.replica_completion_count})
    fix = Fix(az_job(f, "properties.configuration.eventTriggerConfig.{parallelism:parallelism,"
                        "completions:replicaCompletionCount}"))
    if job.parallelism > needed:
        try:
            extra = extra_replicas(f, spend(f))
            money: Money | None = Money(round(extra, 4), round(monthly(extra, f.window), 2),
                                        "window cost × (parallelism − replicaCompletionCount) / parallelism")
        except NotRead:
            extra, money = 0.0, None
        cost = f" (about {money_text(money.month, f.settings.rates.currency)} a month)" if money else ""
        return Outcome(Status.WARN, f"parallelism {job.parallelism} with replicaCompletionCount {needed}: "
                                    f"{job.parallelism - needed} replicas per execution do work nobody waits for{cost}",
                       evidence, Fix(fix.verify, f"-  parallelism: {job.parallelism}\n+  parallelism: {needed}"), money)
    return Outcome(Status.OK, f"parallelism {job.parallelism}, completion count {needed}", evidence, fix)
