"""Cost rules COST-01 … COST-09 (review.md §1, money by the cost model of §2)."""

from __future__ import annotations

import shlex
from datetime import timedelta

from bot.errors import NotApplicable
from bot.evidence.payloads import MemoryEvidence, QueueEvidence
from bot.kql import quote
from bot.review.cost import money_text, monthly, size_of
from bot.review.facts import Facts, NotRead, not_read_yet
from bot.review.findings import Evidence, Fix, Money, Outcome, Pillar, Status
from bot.review.log_reads import az_logs, volume
from bot.review.rule import Rule, az_job, job_source, rule
from bot.review.spend import empty_runs, retry_waste, spend

RULES: list[Rule] = []
COST = Pillar.COST
HISTORY = "GET Microsoft.App/jobs/{}/executions"
TREND = 1.5  # +50 % against the previous window
IDLE_DAYS, UNCHANGED_DAYS = 30, 90
SMALLEST_CPU, SIZING_RUNS = 0.25, 20
COST_TAG = "cost-center"  # COST-08 (PSRule Azure.Resource.UseTags)
NO_BUDGETS = " (budgets are not read: Consumption budgets are outside jobbot's read-only reads)"


def _history(f: Facts) -> str:
    return HISTORY.format(f.job.ref.name)


def _executions_cmd(f: Facts) -> str:
    ref = f.job.ref
    return (f"az containerapp job execution list --name {shlex.quote(ref.name)} --resource-group "
            f"{shlex.quote(ref.resource_group)} --query '[].{{name:name,status:properties.status,"
            "start:properties.startTime,end:properties.endTime}'")


@rule(RULES, "COST-01", COST, "medium", "Spend and trend", "WAF:Cost")
def spend_and_trend(f: Facts) -> Outcome:
    found = spend(f)
    currency, month = f.settings.rates.currency, found.month(f)
    formula = (f"Σ runtime_s × parallelism {f.job.parallelism} × (vCPU × {f.settings.rates.vcpu_s} + GiB × "
               f"{f.settings.rates.gib_s}) over {len(found.runs)} executions; month = window × 30 / days")
    money = Money(round(found.window, 4), round(month, 2), formula)
    evidence = Evidence(_history(f), "properties.startTime/endTime, template.containers[].resources",
                        {"executions": len(found.runs), "window": round(found.window, 4),
                         "previous_window": None if found.previous is None else round(found.previous, 4)})
    fix = Fix(_executions_cmd(f))
    budget = f.settings.monthly_budget
    if budget is not None and month > budget:
        return Outcome(Status.WARN, f"On course for {money_text(month, currency)} a month, over the budget of "
                                    f"{money_text(budget, currency)}", evidence, fix, money)
    if found.previous and found.window > found.previous * TREND:
        return Outcome(Status.WARN, f"Spend rose {found.window / found.previous - 1:.0%} against the previous window "
                                    f"({money_text(found.previous, currency)} → {money_text(found.window, currency)})",
                       evidence, fix, money)
    return Outcome(Status.OK, f"{money_text(found.window, currency)} in the window, about "
                              f"{money_text(month, currency)} a month before the free grant", evidence, fix, money)


@rule(RULES, "COST-02", COST, "medium", "Idle polling and warm floor")
def idle_polling(f: Facts) -> Outcome:
    f.event_only()
    job, rates = f.job, f.settings.rates
    minimum = job.min_executions or 0
    evidence = Evidence(job_source(f), "properties.configuration.eventTriggerConfig.scale.{pollingInterval,"
                        "minExecutions}", {"pollingInterval": job.polling_interval_s, "minExecutions": minimum})
    fix = Fix(az_job(f, "properties.configuration.eventTriggerConfig.scale.{polling:pollingInterval,"
                        "min:minExecutions}"))
    if minimum > 0:
        size = size_of(job.containers)
        per_day = minimum * 86400 * (size.per_second(rates) if size else 0.0) * max(1, job.parallelism)
        money = Money(round(per_day * f.window.length.total_seconds() / 86400, 4), round(per_day * 30, 2),
                      f"minExecutions {minimum} × 86,400 s × parallelism {job.parallelism} × replica rate (assumes "
                      "minExecutions keeps that many executions alive; unverified)")
        fix = Fix(fix.verify, f"scale:\n-  minExecutions: {minimum}\n+  minExecutions: 0")
        return Outcome(Status.WARN, f"minExecutions {minimum} keeps a warm floor of about "
                                    f"{money_text(per_day * 30, rates.currency)} a month", evidence, fix, money)
    if job.polling_interval_s < f.settings.min_polling_s:
        reads = 86400 // max(1, job.polling_interval_s)
        return Outcome(Status.WARN, f"Polling every {job.polling_interval_s} s reads the event source {reads:,} times "
                                    "a day per rule", evidence,
                       Fix(fix.verify, f"scale:\n-  pollingInterval: {job.polling_interval_s}\n+  pollingInterval: 30"))
    return Outcome(Status.OK, f"Polling every {job.polling_interval_s} s with no warm floor", evidence, fix)


@rule(RULES, "COST-03", COST, "high", "Failed-retry waste")
def failed_retry_waste(f: Facts) -> Outcome:
    found = spend(f)
    waste = retry_waste(f, found)
    if waste is None:
        result = f.checks.get("retries")
        raise NotRead(f"the retries check could not run: {result.summary if result else 'not run'}")
    share = waste / found.window if found.window > 0 else 0.0
    money = Money(round(waste, 4), round(monthly(waste, f.window), 2),
                  "Σ retried execution cost × failed attempts / attempts")
    evidence = Evidence("triage check retries + " + _history(f), "failed attempts per execution",
                        {"waste": round(waste, 4), "share": round(share, 3)})
    fix = Fix(_executions_cmd(f))
    title = f"{share:.0%} of the spend went to failed retries ({money_text(waste, f.settings.rates.currency)})"
    status = Status.FAIL if share > 0.25 else Status.WARN if share > 0.10 else Status.OK
    return Outcome(status, title, evidence, fix, money)


@rule(RULES, "COST-04", COST, "medium", "Empty executions")
def empty_executions(f: Facts) -> Outcome:
    found = spend(f)
    succeeded = [e for e in found.runs if e.status.value == "Succeeded"]
    empty = empty_runs(f, found)
    share = len(empty) / len(succeeded) if succeeded else 0.0
    cost = sum(found.costs[e.name] for e in empty)
    money = Money(round(cost, 4), round(monthly(cost, f.window), 2),
                  f"cost of succeeded executions shorter than {f.settings.empty_run_s:g} s")
    evidence = Evidence(_history(f), "succeeded executions: endTime − startTime",
                        {"empty": len(empty), "succeeded": len(succeeded)})
    title = (f"{len(empty)} of {len(succeeded)} succeeded executions ran under {f.settings.empty_run_s:g} s "
             "(likely started with nothing to do)")
    return Outcome(Status.WARN if share > 0.20 else Status.OK, title, evidence, Fix(_executions_cmd(f)), money)


@rule(RULES, "COST-05", COST, "medium", "Right-sizing", "WAF:Cost")
def right_sizing(f: Facts) -> Outcome:
    size = size_of(f.job.containers)
    if size is None:
        raise NotRead("the job's template states no cpu or memory")
    if size.cpu <= SMALLEST_CPU:
        raise NotApplicable(f"{size.cpu:g} vCPU is already the smallest size")
    runs = f.in_window()
    if len(runs) < SIZING_RUNS:
        raise NotApplicable(f"{len(runs)} runs in the window; sizing is judged over at least {SIZING_RUNS}")
    memory = f.evidence("memory", MemoryEvidence)
    if f.cpu is None:
        raise NotRead(f"the UsageNanoCores metric could not be read: {f.unread.get('cpu', 'no answer')}")
    if memory.ratio is None or f.cpu.peak is None:
        raise NotRead("no peak memory against a known limit, or no CPU metric points")
    cpu_ratio = f.cpu.peak / 1e9 / size.cpu
    evidence = Evidence("metrics Usage Bytes, UsageNanoCores (peak) vs template resources",
                        "peak / request", {"memory": round(memory.ratio, 3), "cpu": round(cpu_ratio, 3),
                                           "runs": len(runs)})
    fix = Fix(az_job(f, "properties.template.containers[].resources"))
    if memory.ratio < 0.40 and cpu_ratio < 0.25:
        saving = spend(f).window / 2
        money = Money(round(saving, 4), round(monthly(saving, f.window), 2), "window cost × ½ (one size down)")
        return Outcome(Status.WARN, f"Oversized: peak memory {memory.ratio:.0%} and CPU {cpu_ratio:.0%} of the "
                                    f"request over {len(runs)} runs", evidence, fix, money)
    return Outcome(Status.OK, f"Peak memory {memory.ratio:.0%}, CPU {cpu_ratio:.0%} of the request", evidence, fix)


@rule(RULES, "COST-06", COST, "medium", "Plan fit", "WAF:Cost")
def plan_fit(f: Facts) -> Outcome:
    env = f.environment()
    profiles = {str(p.get("name", "")).lower(): str(p.get("workloadProfileType", ""))
                for p in (env.get("properties") or {}).get("workloadProfiles") or []}
    name = f.job.workload_profile or "Consumption"
    kind = profiles.get(name.lower(), "Consumption" if name.lower() == "consumption" else "")
    evidence = Evidence(f"GET Microsoft.App/managedEnvironments/{env.get('name', '')}",
                        "properties.workloadProfiles[].workloadProfileType", {"profile": name, "type": kind or None})
    fix = Fix(az_job(f, "properties.workloadProfileName"))
    if kind.lower() == "consumption":
        return Outcome(Status.OK, "Runs on the Consumption profile: billed per second of use", evidence, fix)
    raise not_read_yet(f"the busy share of the dedicated profile {name} (instance usage)")


@rule(RULES, "COST-07", COST, "low", "Log volume")
def log_volume(f: Facts) -> Outcome:
    billed = volume(f.rows("log_volume"))
    limit, rate = f.settings.log_gb_day, f.settings.rates.la_gb
    evidence = Evidence("log_volume.kql (system and console logs)", "sum(_BilledSize) per day", billed.observed())
    job = quote(f.job.ref.name)  # the one helper that makes a value KQL text
    fix = Fix(az_logs(
        f, f"ContainerAppConsoleLogs_CL | where ContainerJobName_s =~ {job} | summarize GB = sum(_BilledSize) / 1e9 "
           "by bin(TimeGenerated, 1d)",
        f"ContainerAppConsoleLogs | where JobName =~ {job} | summarize GB = sum(_BilledSize) / 1e9 "
        "by bin(TimeGenerated, 1d)"))
    # la_gb has no default (review.md §2): without it the volume is reported in GB only.
    money = None if rate is None else Money(round(billed.total_gb * rate, 4),
                                            round(monthly(billed.total_gb * rate, f.window), 2), "billed GB × la_gb")
    cost = f" (about {money_text(money.month, f.settings.rates.currency)} a month)" if money else ""
    if billed.max_gb_day > limit:
        return Outcome(Status.WARN, f"Up to {billed.max_gb_day:.2f} GB of logs a day, over the {limit:g} GB a day "
                                    f"expected{cost}: lower the log level or drop noisy lines", evidence, fix, money)
    return Outcome(Status.OK, f"At most {_size(billed.max_gb_day)} of logs a day{cost}", evidence, fix, money)


def _size(gb: float) -> str:
    """Decimal units, as Log Analytics bills: '1.25 GB', '3.4 MB', '4 kB'."""
    for unit, scale in (("GB", 1.0), ("MB", 1e-3)):
        if gb >= scale * 0.1:
            return f"{gb / scale:.2f} {unit}" if unit == "GB" else f"{gb / scale:.1f} {unit}"
    return f"{gb * 1e6:.0f} kB"


@rule(RULES, "COST-08", COST, "medium", "Budget and cost tag", "PSRule:Azure.Resource.UseTags")
def budget(f: Facts) -> Outcome:
    # Only the tag half is judged: Consumption budgets (`budgets.list`, review.md N8) are not among the reads
    # jobbot's read-only contract allows (architecture.md), so the finding says so rather than guessing.
    value = next((v for k, v in f.job.tags.items() if k.lower() == COST_TAG), None)
    evidence = Evidence(job_source(f), f"tags.{COST_TAG}", value)
    fix = Fix(az_job(f, "tags"), f"tags:\n+  {COST_TAG}: CODE")
    if not value:
        return Outcome(Status.WARN, f"No {COST_TAG} tag: the job's spend cannot be attributed to a budget{NO_BUDGETS}",
                       evidence, fix)
    return Outcome(Status.OK, f"Tagged {COST_TAG} {value}{NO_BUDGETS}", evidence, fix)


@rule(RULES, "COST-09", COST, "low", "Stale job")
def stale_job(f: Facts) -> Outcome:
    history = f.executions()
    last_run = max((e.start for e in history if e.start is not None), default=None)
    idle = last_run is None or f.now - last_run > timedelta(days=IDLE_DAYS)
    unchanged = f.job.last_modified_at is None or f.now - f.job.last_modified_at > timedelta(days=UNCHANGED_DAYS)
    try:
        depth: int | None = f.evidence("queue_depth", QueueEvidence).depth
    except (NotRead, NotApplicable):
        depth = None
    evidence = Evidence(_history(f) + " + systemData", "last startTime, lastModifiedAt, queue depth",
                        {"last_run": last_run.isoformat() if last_run else None,
                         "last_modified": f.job.last_modified_at.isoformat() if f.job.last_modified_at else None,
                         "depth": depth})
    if idle and unchanged and not depth:
        return Outcome(Status.WARN, f"No run in {IDLE_DAYS} d, no change in {UNCHANGED_DAYS} d and nothing queued: "
                                    "a candidate to remove safely", evidence, Fix(_executions_cmd(f)))
    return Outcome(Status.OK, "The job is in use", evidence, Fix(_executions_cmd(f)))
