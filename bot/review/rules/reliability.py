"""Reliability rules REL-01 … REL-10 (review.md §1)."""

from __future__ import annotations

import contextlib
import math
import shlex

from bot.checklists.images import parse_image
from bot.errors import NotApplicable
from bot.evidence.payloads import ConfigChangesEvidence, FailuresEvidence, QueueEvidence, StuckEvidence
from bot.kql import quote
from bot.model import FAILED_STATUSES, CheckStatus, ExecutionStatus, QueueDepth
from bot.review.cost import money_text, monthly, runtime_s
from bot.review.facts import POISON_TAG, Facts, NotRead, poison_queue
from bot.review.findings import Evidence, Fix, Money, Outcome, Pillar, Status
from bot.review.log_reads import az_logs, percentile
from bot.review.rule import Rule, az_job, job_source, rule
from bot.review.spend import Duplicates, duplicates_of, spend

RULES: list[Rule] = []
REL = Pillar.RELIABILITY
MAX_RETRIES = 5
REPEAT_SHARE = 0.8
MAX_DELIVERIES = 10  # REL-04: above this a poison message costs too many executions
UNDECLARED_CONCURRENCY = 50
MUTABLE_TAGS = frozenset({"latest", "stable", "main", "master", "dev"})
DUPLICATE_WARN, DUPLICATE_FAIL = 0.005, 0.05  # review.md REL-06: share of messages processed twice or more


@rule(RULES, "REL-01", REL, "high", "Timeout fits the work")
def timeout_fits(f: Facts) -> Outcome:
    timeout = f.job.replica_timeout_s
    runs = f.in_window()
    durations = [s for e in runs if e.status is ExecutionStatus.SUCCEEDED and (s := runtime_s(e, f.now)) is not None]
    deadline = sorted(e.name for e in runs if (e.reason or "").lower() == "deadlineexceeded")
    p95 = percentile(durations, 0.95) if durations else None
    p99 = percentile(durations, 0.99) if durations else None
    evidence = Evidence(job_source(f) + " + executions", "properties.configuration.replicaTimeout",
                        {"replicaTimeout": timeout, "p95_s": p95, "p99_s": p99, "succeeded": len(durations),
                         "deadline_exceeded": deadline})
    fix = Fix(az_job(f, "properties.configuration.replicaTimeout"))
    if timeout is None:
        return Outcome(Status.WARN, "The job states no replicaTimeout", evidence, fix)
    change = f"configuration:\n-  replicaTimeout: {timeout}\n+  replicaTimeout: {_suggest(timeout, p95, f)}"
    fix = Fix(fix.verify, change)
    if deadline:
        return Outcome(Status.FAIL, f"{len(deadline)} executions hit the {timeout} s timeout (DeadlineExceeded)",
                       evidence, fix)
    if p95 is None or p99 is None:
        if timeout < f.settings.min_timeout_s:
            return Outcome(Status.WARN, f"replicaTimeout {timeout} s leaves no room for start-up, and no succeeded "
                                        "execution shows how long the work takes", evidence, fix)
        return Outcome(Status.OK, f"replicaTimeout {timeout} s (no succeeded execution in the window to compare)",
                       evidence, Fix(fix.verify))
    if timeout < p99:
        return Outcome(Status.FAIL, f"replicaTimeout {timeout} s is below the p99 run time {p99:.0f} s", evidence, fix)
    if timeout < p95 * 1.5:
        return Outcome(Status.WARN, f"replicaTimeout {timeout} s is tight: under 1.5 × p95 ({p95:.0f} s)",
                       evidence, fix)
    if timeout > max(20 * p95, 3600):
        return Outcome(Status.WARN, f"replicaTimeout {timeout} s lets a hung run live over 20 × p95 ({p95:.0f} s)",
                       evidence, fix)
    return Outcome(Status.OK, f"replicaTimeout {timeout} s fits runs of p95 {p95:.0f} s", evidence, Fix(fix.verify))


def _suggest(timeout: int, p95: float | None, f: Facts) -> int:
    if p95 is None:
        return max(timeout, int(f.settings.min_timeout_s) * 5)
    return max(int(math.ceil(p95 * 3 / 60) * 60), 60)


@rule(RULES, "REL-02", REL, "medium", "Retries help")
def retries_help(f: Facts) -> Outcome:
    limit = f.job.replica_retry_limit
    evidence_fix = Fix(az_job(f, "properties.configuration.replicaRetryLimit"),
                       f"configuration:\n-  replicaRetryLimit: {limit}\n+  replicaRetryLimit: 2")
    repeated, retried = 0, 0
    try:
        failures = f.evidence("failures", FailuresEvidence)
        for e in failures.executions:
            codes = [c for c in e.exit_codes or () if c != 0]
            if (e.attempts or 0) >= 2 and codes:
                retried += 1
                repeated += len(set(codes)) == 1
    except (NotRead, NotApplicable):
        failures = None
    evidence = Evidence(job_source(f) + " + triage check failures", "properties.configuration.replicaRetryLimit",
                        {"replicaRetryLimit": limit, "retried": retried, "same_exit_code": repeated})
    if limit is not None and limit > MAX_RETRIES:
        return Outcome(Status.WARN, f"replicaRetryLimit {limit}: more than {MAX_RETRIES} retries rarely help and "
                                    "multiply the cost of a deterministic failure", evidence, evidence_fix)
    if retried and repeated / retried >= REPEAT_SHARE:
        return Outcome(Status.WARN, f"{repeated} of {retried} retried executions failed again with the same exit "
                                    "code: retrying a deterministic failure only costs", evidence, evidence_fix)
    if failures is None:
        raise NotRead("the failures check could not run, so retried exit codes are unknown")
    return Outcome(Status.OK, f"replicaRetryLimit {limit}", evidence, Fix(evidence_fix.verify))


@rule(RULES, "REL-03", REL, "high", "Image immutable and trusted", "WAF:OE-version-images",
      "PSRule:Azure.ACR.ContentTrust")
def immutable_image(f: Facts) -> Outcome:
    images = sorted({c.image for c in f.job.containers if c.image})
    refs = [parse_image(i) for i in images]
    evidence = Evidence(job_source(f), "properties.template.containers[].image", images)
    fix = Fix(az_job(f, "properties.template.containers[].image"))
    mutable = [str(r) for r in refs if not r.digest and (r.tag is None or r.tag.lower() in MUTABLE_TAGS)]
    if mutable:
        return Outcome(Status.FAIL, f"Image without a version: {', '.join(mutable)} (a moving tag)", evidence,
                       Fix(fix.verify, f"image:\n-  {mutable[0]}\n+  {mutable[0].split('@')[0]}@sha256:DIGEST"))
    allowed = {r.lower() for r in f.settings.allowed_registries}
    foreign = [str(r) for r in refs if allowed and (r.registry or "docker.io").lower() not in allowed]
    if foreign:
        return Outcome(Status.WARN, f"Image from a registry outside allowed_registries: {', '.join(foreign)}",
                       evidence, fix)
    unpinned = [str(r) for r in refs if not r.digest]
    if unpinned:
        return Outcome(Status.WARN, f"Image tag without a digest: {', '.join(unpinned)} (a tag can be re-pushed)",
                       evidence, Fix(fix.verify, f"image:\n-  {unpinned[0]}\n+  {unpinned[0]}@sha256:DIGEST"))
    return Outcome(Status.OK, "Every image is pinned by digest", evidence, fix)


def _service_bus(f: Facts) -> list[QueueDepth]:
    """The Service Bus entities of the job's scale rules, as read with their depth (error if one was not)."""
    f.event_only()
    rules = [r for r in f.job.rules if r.type == "azure-servicebus"]
    if not rules:
        raise NotApplicable("it applies to Service Bus rules only")
    unread = [f"{r.name}: {f.unread.get(f'queue {r.name}', 'no answer')}" for r in rules if r.name not in f.queues]
    if unread:
        raise NotRead("the Service Bus entity could not be read (" + "; ".join(unread) + ")")
    return [f.queues[r.name] for r in rules]


def _entity_cmd(q: QueueDepth, f: Facts, query: str) -> str:
    queue, _, subscription = q.entity.partition("/")
    what = (f"servicebus topic subscription show --topic-name {queue} --name {subscription}" if subscription
            else f"servicebus queue show --name {queue}")
    return f"az {what} --namespace-name {q.namespace} --resource-group {f.job.ref.resource_group} --query {query}"


def _storage_poison(f: Facts) -> Outcome:
    """A Storage queue has no dead-letter queue: a message that keeps failing comes back each time it is visible
    again, until it expires, unless the workload moves it aside. Declared: `review.poison_queue` or the job's tag."""
    rules = [r for r in f.job.rules if r.type == "azure-queue"]
    declared = poison_queue(f.job, f.settings)
    account = rules[0].metadata.get("accountName", "ACCOUNT")
    listing = (f"az storage queue list --account-name {shlex.quote(account)} --auth-mode login "
               "--query '[].name'")
    if not declared:
        return Outcome(Status.WARN, "No poison queue declared for the Storage queue: a message that always fails "
                                    "starts an execution each time it is visible again, until it expires (7 days by "
                                    f"default); declare where the workload moves it (review.poison_queue or the "
                                    f"{POISON_TAG} tag)",
                       Evidence("jobbot.yaml review.poison_queue; the job's tags",
                                f"review.poison_queue | {POISON_TAG}", None),
                       Fix(listing, f"+ tags: {{{POISON_TAG}: QUEUE-poison}}"))
    unread = [f"{r.name}: {f.unread.get(f'poison {r.name}', 'no answer')}" for r in rules if r.name not in f.poison]
    if unread:
        raise NotRead(f"the poison queue {declared} could not be read (" + "; ".join(unread) + ")")
    read = [f.poison[r.name] for r in rules]
    other = sorted({q.entity for q in read if q.entity.lower() != declared.lower()})
    if other:  # the job's `queue:` config names the queue for every read of its account
        raise NotRead(f"the poison queue {declared} was not read: the job's queue config names {', '.join(other)}")
    waiting = max(q.depth for q in read)
    evidence = Evidence(f"Storage queue {read[0].namespace}/{declared} (approximate message count)",
                        "ApproximateMessagesCount", waiting)
    fix = Fix(f"az storage queue exists --name {shlex.quote(declared)} --account-name "
              f"{shlex.quote(read[0].namespace)} --auth-mode login")
    if waiting:
        return Outcome(Status.WARN, f"{waiting} poison message(s) wait in {declared}: look at them before they "
                                    "expire, then replay or drop them", evidence, fix)
    return Outcome(Status.OK, f"Poison messages are moved to {declared}, which is empty", evidence, fix)


@rule(RULES, "REL-04", REL, "medium", "Poison messages stop")
def poison_messages(f: Facts) -> Outcome:
    if f.job.trigger_type.lower() == "event" and any(r.type == "azure-queue" for r in f.job.rules) and \
            not any(r.type == "azure-servicebus" for r in f.job.rules):
        return _storage_poison(f)
    entities = _service_bus(f)
    observed = {q.entity: {"maxDeliveryCount": q.max_delivery_count, "deadLetter": q.dead_letter} for q in entities}
    first = entities[0]
    evidence = Evidence(f"GET Microsoft.ServiceBus/namespaces/{first.namespace}/{first.entity}",
                        "properties.{maxDeliveryCount,countDetails.deadLetterMessageCount}", observed)
    fix = Fix(_entity_cmd(first, f, "'{maxDeliveryCount:maxDeliveryCount,deadLetter:countDetails."
                                    "deadLetterMessageCount}'"))
    many = [q.entity for q in entities if (q.max_delivery_count or 0) > MAX_DELIVERIES]
    dead = [f"{q.entity} ({q.dead_letter})" for q in entities if q.dead_letter]
    if many:
        return Outcome(Status.WARN, f"maxDeliveryCount above {MAX_DELIVERIES} on {', '.join(many)}: a poison message "
                                    "starts that many executions before it is dead-lettered", evidence, fix)
    if dead:
        return Outcome(Status.WARN, f"Dead-lettered messages wait: {', '.join(dead)}", evidence, fix)
    return Outcome(Status.OK, "Poison messages are dead-lettered after at most "
                              f"{max(q.max_delivery_count or 0 for q in entities)} deliveries", evidence, fix)


@rule(RULES, "REL-05", REL, "high", "Lock outlives the work")
def lock_duration(f: Facts) -> Outcome:
    entities = _service_bus(f)
    durations = [s for e in f.in_window() if e.status is ExecutionStatus.SUCCEEDED and (s := runtime_s(e, f.now))]
    p95 = percentile(durations, 0.95) if durations else None
    short = [q for q in entities if q.lock_duration_s is not None and p95 is not None and q.lock_duration_s < p95]
    first = short[0] if short else entities[0]
    evidence = Evidence(f"GET Microsoft.ServiceBus/namespaces/{first.namespace}/{first.entity} + executions",
                        "properties.lockDuration vs p95 run time",
                        {"lockDuration_s": first.lock_duration_s, "p95_s": p95})
    fix = Fix(_entity_cmd(first, f, "lockDuration"))
    if short:
        return Outcome(Status.FAIL, f"The message lock ({first.lock_duration_s:g} s) expires before a typical run "
                                    f"ends (p95 {p95:.0f} s): the message reappears and a second execution takes it",
                       evidence, fix)
    if p95 is None:
        return Outcome(Status.OK, "No succeeded execution in the window to compare with the lock", evidence, fix)
    return Outcome(Status.OK, f"The message lock outlives runs of p95 {p95:.0f} s", evidence, fix)


@rule(RULES, "REL-06", REL, "high", "Duplicate executions per message")
def duplicates(f: Facts) -> Outcome:
    f.event_only()
    if not f.settings.message_id_regex:
        raise NotApplicable("no review.message_id_regex configured to find message ids in the console logs")
    found = duplicates_of(f)
    if found is None or not found.messages:
        raise NotApplicable("review.message_id_regex found no message id in the console logs of the window")
    evidence = Evidence("message_reprocessing.kql (console logs)", "message ids seen in more than one execution",
                        {"messages": found.messages, "duplicated": found.duplicated,
                         "extra_executions": found.extra_executions, "message_id_regex": f.settings.message_id_regex})
    job = quote(f.job.ref.name)  # the one helper that makes a value KQL text
    fix = Fix(az_logs(
        f, f"ContainerAppConsoleLogs_CL | where ContainerJobName_s =~ {job} | project TimeGenerated, "
           "ContainerGroupName_s, Log_s | take 100",
        f"ContainerAppConsoleLogs | where JobName =~ {job} | project TimeGenerated, ContainerGroupName, Log "
        "| take 100"))
    share = found.duplicated / found.messages
    money = _duplicate_money(f, found)
    text = (f"{found.duplicated} of {found.messages} messages ({share:.1%}) were processed by more than one "
            f"execution ({found.extra_executions} extra)")
    if share > DUPLICATE_WARN:
        cost = f", about {money_text(money.month, f.settings.rates.currency)} a month" if money else ""
        status = Status.FAIL if share > DUPLICATE_FAIL else Status.WARN
        return Outcome(status, f"{text}{cost}: make processing idempotent or lengthen the lock", evidence, fix, money)
    return Outcome(Status.OK, text, evidence, fix, money)


def _duplicate_money(f: Facts, found: Duplicates) -> Money | None:
    try:
        waste = found.cost(spend(f))
    except NotRead:
        return None
    if waste is None:
        return None
    return Money(round(waste, 4), round(monthly(waste, f.window), 2),
                 "extra executions × average execution cost in the window")


@rule(RULES, "REL-07", REL, "high", "The job really runs")
def really_runs(f: Facts) -> Outcome:
    job = f.job
    state = {"runningState": job.running_state, "provisioningState": job.provisioning_state}
    evidence = Evidence(job_source(f), "properties.{runningState,provisioningState}", state)
    fix = Fix(az_job(f, "properties.{running:runningState,provisioning:provisioningState}"))
    if (job.provisioning_state or "").lower() == "failed":
        return Outcome(Status.FAIL, "The job's last deployment failed (provisioningState Failed)", evidence, fix)
    if (job.running_state or "").lower() in {"suspended", "stopped"}:
        return Outcome(Status.FAIL, f"The job is {job.running_state}: no execution will start", evidence, fix)
    silent = _silent_stop(f)
    if silent:
        return Outcome(Status.FAIL, silent, evidence, fix)
    return Outcome(Status.OK, f"runningState {job.running_state or 'not stated'}, provisioningState "
                              f"{job.provisioning_state or 'not stated'}", evidence, fix)


def _silent_stop(f: Facts) -> str | None:
    """A start/stop/suspend/resume after which no execution started although messages wait."""
    try:
        changes = f.evidence("config_changes", ConfigChangesEvidence).changes
        depth = f.evidence("queue_depth", QueueEvidence).depth
    except (NotRead, NotApplicable):
        return None
    actions = [c for c in changes if c.lifecycle_action and c.time is not None]
    if not actions or depth <= 0:
        return None
    last = max(actions, key=lambda c: c.time or f.now)
    started = [e for e in f.executions() if e.start is not None and last.time is not None and e.start > last.time]
    if started:
        return None
    return (f"No execution started since a {last.lifecycle_action} at {last.time:%Y-%m-%d %H:%M} UTC while "
            f"{depth} messages wait (the scaler can stop silently after lifecycle actions)")


@rule(RULES, "REL-08", REL, "medium", "Zone redundancy", "APRL:f4201965", "PSRule:Azure.ContainerApp.AvailabilityZone")
def zone_redundancy(f: Facts) -> Outcome:
    env = f.environment()
    redundant = (env.get("properties") or {}).get("zoneRedundant")
    evidence = Evidence(f"GET Microsoft.App/managedEnvironments/{env.get('name', '')}", "properties.zoneRedundant",
                        redundant)
    fix = Fix(f"az containerapp env show --ids {env.get('id', '')} --query properties.zoneRedundant")
    if redundant is True:
        return Outcome(Status.OK, "The environment is zone redundant", evidence, fix)
    return Outcome(Status.WARN, f"The environment is not zone redundant ({f.job.location}): a zone outage stops the "
                                "job", evidence, fix)


@rule(RULES, "REL-09", REL, "high", "Recent outcome")
def recent_outcome(f: Facts) -> Outcome:
    # Counted from ARM's execution history, so the outcome is judged even where the logs are not exported.
    runs = f.in_window()
    failed = sum(1 for e in runs if e.status in FAILED_STATUSES)
    finished = failed + sum(1 for e in runs if e.status is ExecutionStatus.SUCCEEDED)
    share = failed / finished if finished else 0.0
    stuck: list[str] = []
    with contextlib.suppress(NotRead, NotApplicable):
        stuck = [s.execution for s in f.evidence("stuck_executions", StuckEvidence).stuck]
    scaler = f.checks.get("scaler")
    scaler_failed = scaler is not None and scaler.status is CheckStatus.FAIL
    evidence = Evidence("executions (ARM) + triage checks stuck_executions, scaler", "executions in the window",
                        {"failed": failed, "finished": finished, "stuck": stuck,
                         "scaler": scaler.status.value if scaler else None})
    ref = f.job.ref
    fix = Fix(f"az containerapp job execution list --name {ref.name} --resource-group {ref.resource_group} "
              "--query \"[?properties.status!='Succeeded'].{name:name,status:properties.status}\"")
    if stuck:
        return Outcome(Status.FAIL, f"Executions stuck past their timeout: {', '.join(stuck)}", evidence, fix)
    if scaler_failed and scaler is not None:
        return Outcome(Status.FAIL, f"The scaler cannot read the event source: {scaler.summary}", evidence, fix)
    if share > f.settings.failure_warn:
        status = Status.FAIL if share > f.settings.failure_fail else Status.WARN
        return Outcome(status, f"{share:.0%} of finished executions failed ({failed} of {finished})", evidence, fix)
    return Outcome(Status.OK, f"{failed} of {finished} finished executions failed", evidence, fix)


@rule(RULES, "REL-10", REL, "medium", "Downstream absorbs the concurrency")
def downstream(f: Facts) -> Outcome:
    f.event_only()
    peak = f.job.parallelism * f.job.max_executions
    declared = f.settings.expected.downstream_max_concurrency
    evidence = Evidence(job_source(f), "eventTriggerConfig.parallelism × scale.maxExecutions",
                        {"concurrency": peak, "downstream_max_concurrency": declared})
    fix = Fix(az_job(f, "properties.configuration.eventTriggerConfig.{parallelism:parallelism,"
                        "max:scale.maxExecutions}"))
    if declared is not None and peak > declared:
        return Outcome(Status.FAIL, f"Up to {peak} replicas at once, above the {declared} the downstream absorbs",
                       evidence, Fix(fix.verify, f"scale:\n-  maxExecutions: {f.job.max_executions}\n"
                                                 f"+  maxExecutions: {max(1, declared // f.job.parallelism)}"))
    if declared is None and peak > UNDECLARED_CONCURRENCY:
        return Outcome(Status.WARN, f"Up to {peak} replicas at once and no downstream limit declared "
                                    "(review.expected.downstream_max_concurrency)", evidence, fix)
    return Outcome(Status.OK, f"Up to {peak} replicas at once", evidence, fix)
