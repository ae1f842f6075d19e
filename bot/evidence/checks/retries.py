"""retries: executions that needed more than one attempt, and those that ran out of retries."""

from __future__ import annotations

from bot.evidence.payloads import RetriedExecution, RetriesEvidence
from bot.evidence.sources import Sources
from bot.model import CheckResult, CheckStatus

NAME = "retries"
NEEDS = ("query:failed_executions",)  # the upstream reads it makes (prefetched together)


async def run(sources: Sources) -> CheckResult:
    """Attempts per execution from the system logs, against the job's replicaRetryLimit."""
    rows = (await sources.query("failed_executions")).rows
    limit = sources.job.replica_retry_limit
    retried = [r for r in rows if int(r.get("Attempts") or 0) > 1]
    exhausted = [r for r in rows if "BackoffLimitExceeded" in (r.get("Reasons") or [])]
    data = RetriesEvidence(
        retry_limit=limit,
        executions_retried=len(retried),
        executions_out_of_retries=len(exhausted),
        max_attempts=max((int(r.get("Attempts") or 0) for r in rows), default=0),
        by_execution=tuple(
            RetriedExecution(str(r["ExecutionName"]), int(r.get("Attempts") or 0), int(r.get("FailedAttempts") or 0))
            for r in retried[:10]
        ),
    )
    if exhausted and not limit:
        return CheckResult(NAME, CheckStatus.WARN,
                           f"{len(exhausted)} executions failed on their first attempt: replicaRetryLimit is 0, "
                           "so nothing is retried.", data)
    if exhausted:
        return CheckResult(NAME, CheckStatus.FAIL,
                           f"{len(exhausted)} executions used up their retries (replicaRetryLimit {limit}).", data)
    if retried:
        return CheckResult(NAME, CheckStatus.WARN,
                           f"{len(retried)} executions needed retries (up to {data.max_attempts} attempts).", data)
    return CheckResult(NAME, CheckStatus.OK, "No execution needed a retry.", data)
