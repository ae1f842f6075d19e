"""The evidence snapshot the bot posts in the checklist's thread: the job as it is now, and its recent
executions. Pure text (mrkdwn-safe once escaped by the caller's renderer).

Built from the parsed model only, which holds env var *names* and never values; the text also passes
through `redact` in case a scale rule's metadata carries something shaped like a secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.evidence import executions as ex
from bot.model import Execution, Job
from bot.store.redact import redact
from bot.text import utc_minute

EXECUTIONS_SHOWN = 10


def snapshot_lines(job: Job, history: Sequence[Execution], now: datetime) -> list[str]:
    """Readable lines, `code` spans for names; the first line is the title."""
    ref = job.ref
    lines = [
        f"Snapshot of {ref.name} before the rollback, read by jobbot at {utc_minute(now)} "
        "(env var and secret values are never read or shown).",
        f"Job `{ref.name}` in `{ref.resource_group}` (subscription `{ref.subscription}`, {job.location or '?'}).",
        f"Trigger {job.trigger_type or '?'} · replicaTimeout {_num(job.replica_timeout_s, ' s')} · replicaRetryLimit "
        f"{_num(job.replica_retry_limit)} · parallelism {job.parallelism} · maxExecutions {job.max_executions} · "
        f"polling {job.polling_interval_s} s · state {job.running_state or '?'}",
    ]
    for rule in job.rules:
        meta = ", ".join(f"{k}={v}" for k, v in sorted(rule.metadata.items()))
        auth = " (identity)" if rule.uses_identity else ""
        lines.append(f"Scale rule `{rule.name}`: {rule.type}{auth} {meta}".rstrip())
    for container in job.containers:
        env = ", ".join(container.env_names) or "none listed"
        cpu = "?" if container.cpu is None else f"{container.cpu:g}"
        lines.append(f"Container `{container.name}`: image `{container.image}` · cpu {cpu} · memory "
                     f"{container.memory or '?'} · env names {env}")
    if job.last_modified_at or job.last_modified_by:
        when = utc_minute(job.last_modified_at) if job.last_modified_at else "?"
        lines.append(f"Last modified {when} by {job.last_modified_by or '?'}")
    recent = ex.newest_first(history)[:EXECUTIONS_SHOWN]
    lines.append(f"Recent executions (newest first, {len(recent)} of {len(history)}):")
    for execution in recent:
        start = utc_minute(execution.start) if execution.start else "?"
        end = utc_minute(execution.end, clock_only=True) if execution.end else "…"
        why = f" ({execution.reason})" if execution.reason else ""
        lines.append(f"• `{execution.name}` {execution.status.value} {start} → {end} "
                     f"`{execution.image or '?'}`{why}")
    return [redact(line) for line in lines]


def _num(value: int | None, unit: str = "") -> str:
    return "?" if value is None else f"{value}{unit}"
