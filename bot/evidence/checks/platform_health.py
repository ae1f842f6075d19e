"""platform_health: an active Azure Service Health or Resource Health event for the job's region or resources."""

from __future__ import annotations

from bot.evidence.rows import iso
from bot.evidence.sources import Sources
from bot.model import CheckResult, CheckStatus
from bot.verdict.changes import ActivityEvent, parse_activity

NAME = "platform_health"
NEEDS = ("query:config_changes",)  # the upstream reads it makes (prefetched together)
RESOLVED = frozenset({"resolved", "succeeded", "success", "completed"})


def _squash(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


async def run(sources: Sources) -> CheckResult:
    """Service Health / Resource Health events in the Activity Log that are still active."""
    events = [e for e in parse_activity((await sources.query("config_changes")).rows)
              if e.category.lower() in {"servicehealth", "resourcehealth"}]
    # An incident is over once any event with its correlation id says resolved.
    resolved_ids = {e.correlation_id for e in events if e.status.lower() in RESOLVED and e.correlation_id}
    job = sources.job
    ids = {job.ref.id.lower(), job.environment_id.lower()}
    region = _squash(job.location)

    def relevant(event: ActivityEvent) -> bool:
        if event.resource_id.lower() in ids:
            return True
        return bool(region) and region in _squash(event.properties)

    active = [e for e in events if e.correlation_id not in resolved_ids and e.status.lower() not in RESOLVED
              and relevant(e)]
    data = {"active": [{"time": iso(e.time), "category": e.category, "operation": e.operation,
                        "status": e.status, "resource": e.resource_id} for e in active]}
    if active:
        return CheckResult(NAME, CheckStatus.FAIL,
                           f"Active {active[0].category} event for {job.location}: {active[0].operation}.", data)
    return CheckResult(NAME, CheckStatus.OK, f"No active Azure health event for {job.location} or the job.", data)
