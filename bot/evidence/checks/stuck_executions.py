"""stuck_executions: executions still Running/Processing far beyond their replicaTimeout."""

from __future__ import annotations

from bot.evidence import executions as ex
from bot.evidence.payloads import StuckEvidence, StuckExecution
from bot.evidence.sources import Sources
from bot.model import CheckResult, CheckStatus

NAME = "stuck_executions"
NEEDS = ("executions",)  # the upstream reads it makes (prefetched together)
# The platform needs a little time to notice a timeout; beyond this it is not coming back on its own.
GRACE_FACTOR = 2.0
GRACE_MIN_S = 300


async def run(sources: Sources) -> CheckResult:
    """Active executions older than replicaTimeout (with a grace) are stuck."""
    timeout = sources.job.replica_timeout_s
    if not timeout:
        return CheckResult(NAME, CheckStatus.SKIPPED, "The job sets no replicaTimeout.")
    limit = max(timeout * GRACE_FACTOR, timeout + GRACE_MIN_S)
    stuck: list[StuckExecution] = []
    for execution in ex.active(await sources.executions()):
        if execution.start is None:
            continue
        running_for = (sources.now - execution.start).total_seconds()
        if running_for > limit:
            stuck.append(StuckExecution(execution.name, execution.status.value, int(running_for), timeout))
    data = StuckEvidence(timeout, tuple(stuck))
    if not stuck:
        return CheckResult(NAME, CheckStatus.OK, "No execution is running past its timeout.", data)
    longest = max(stuck, key=lambda s: s.running_for_s)
    return CheckResult(
        NAME, CheckStatus.FAIL,
        f"{len(stuck)} executions still {longest.status} long past replicaTimeout {timeout}s "
        f"(longest {_human(longest.running_for_s)}).",
        data,
    )


def _human(seconds: int) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds // 60} min"
