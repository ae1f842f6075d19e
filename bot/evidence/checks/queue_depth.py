"""queue_depth: messages waiting at the event source against what the job can absorb."""

from __future__ import annotations

import contextlib

from bot.errors import JobbotError
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
    depth = await sources.queue_depth()
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
    if depth.depth > BACKLOG_FACTOR * capacity:
        return CheckResult(NAME, CheckStatus.FAIL,
                           summary + f": {depth.depth / capacity:.0f}x what one full round ({capacity}) takes.", data)
    if depth.depth > capacity:
        return CheckResult(NAME, CheckStatus.WARN, summary + f": more than one full round ({capacity}) takes.", data)
    if depth.dead_letter:
        return CheckResult(NAME, CheckStatus.WARN, summary + ".", data)
    return CheckResult(NAME, CheckStatus.OK, summary + ".", data)
