"""queue_depth: messages waiting at the event source against what the job can absorb."""

from __future__ import annotations

import contextlib

from bot.errors import JobbotError, ResourceNotFound
from bot.evidence import executions as ex
from bot.evidence.deadline import best_effort
from bot.evidence.payloads import QueueEvidence
from bot.evidence.sources import Sources
from bot.model import CheckResult, CheckStatus, ScaleRule

NAME = "queue_depth"
NEEDS = ("queue", "executions")  # the upstream reads it makes (prefetched together)
DEFAULT_TARGET = 5  # KEDA's default queueLength / messageCount
# A backlog is real when it would take several full rounds of executions to drain, not one or two.
BACKLOG_FACTOR = 3


def target_per_execution(rule: ScaleRule) -> int:
    for key in ("queueLength", "messageCount"):
        value = rule.metadata.get(key)
        if value is not None and str(value).isdigit() and int(value) > 0:
            return int(value)
    return DEFAULT_TARGET


async def run(sources: Sources) -> CheckResult:
    """Queue depth (and dead letters) against queueLength x maxExecutions and running executions."""
    try:
        depth = await sources.queue_depth()
    except ResourceNotFound as missing:
        # KEDA polls a queue that is not there: nothing will ever start. Say so instead of "skipped".
        return CheckResult(NAME, CheckStatus.FAIL, f"The event source the scale rule reads does not exist: "
                           f"{missing.resource_id} (404): no execution can start from it.")
    job = sources.job
    target = target_per_execution(job.rules[0])
    capacity = target * job.max_executions
    running: int | None = None
    with contextlib.suppress(JobbotError):  # the depth stands on its own when the history cannot be read
        history = await best_effort(sources.executions())
        running = None if history is None else len(ex.active(ex.in_window(history, sources.window)))
    data = QueueEvidence(
        source=depth.source_type,
        namespace=depth.namespace,
        entity=depth.entity,
        depth=depth.depth,
        dead_letter=depth.dead_letter,
        target_per_execution=target,
        max_executions=job.max_executions,
        capacity=capacity,
        running=running,
    )
    where = f"{depth.namespace}/{depth.entity}"
    running_text = "running unknown" if running is None else f"{running} running"
    summary = (f"{depth.depth} messages in {where} (scale target {target} per execution, "
               f"maxExecutions {job.max_executions}, {running_text})")
    if depth.dead_letter:
        summary += f"; {depth.dead_letter} dead-lettered"
    others, absent = await _other_rules(sources)
    if others:
        summary += "; other scale rules: " + ", ".join(others)
    if absent:
        return CheckResult(NAME, CheckStatus.FAIL, summary + ". The event source of another scale rule does not "
                           f"exist: {', '.join(absent)} (404): that rule can start nothing.", data)
    if depth.depth > BACKLOG_FACTOR * capacity:
        return CheckResult(NAME, CheckStatus.FAIL,
                           summary + f": {depth.depth / capacity:.0f}x what one full round ({capacity}) takes.", data)
    if depth.depth > capacity:
        return CheckResult(NAME, CheckStatus.WARN, summary + f": more than one full round ({capacity}) takes.", data)
    if depth.dead_letter:
        return CheckResult(NAME, CheckStatus.WARN, summary + ".", data)
    return CheckResult(NAME, CheckStatus.OK, summary + ".", data)


async def _other_rules(sources: Sources) -> tuple[list[str], list[str]]:
    """Depths at the event sources of the job's other scale rules, and those that do not exist."""
    depths: list[str] = []
    missing: list[str] = []
    for index in range(1, len(sources.job.rules)):
        try:
            other = await best_effort(sources.queue_depth(index))
        except ResourceNotFound as gone:
            missing.append(gone.resource_id)
            continue
        except JobbotError:  # unreadable or not measured: the first rule's figures still stand
            continue
        if other is not None:
            depths.append(f"{other.depth} messages in {other.namespace}/{other.entity}")
    return depths, missing
