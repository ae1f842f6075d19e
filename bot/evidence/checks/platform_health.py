"""platform_health: an active Azure Service Health or Resource Health event for the job's region or resources."""

from __future__ import annotations

from bot.evidence.activity import ActivityEvent, parse_activity
from bot.evidence.payloads import HealthEvent, PlatformHealthEvidence
from bot.evidence.sources import Sources
from bot.model import CheckResult, CheckStatus

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
        return bool(region) and region in _squash(event.properties_text)

    active = [e for e in events if e.correlation_id not in resolved_ids and e.status.lower() not in RESOLVED
              and relevant(e)]
    data = PlatformHealthEvidence(tuple(
        HealthEvent(e.time, e.category, e.operation, e.status, e.resource_id, **_headline(e)) for e in active))
    if active:
        first = data.active[0]
        what = first.title or first.operation
        tracking = f" (tracking id {first.tracking_id})" if first.tracking_id else ""
        return CheckResult(NAME, CheckStatus.FAIL,
                           f"Active Azure {active[0].category} event for {job.location}: {what}{tracking}.", data)
    return CheckResult(NAME, CheckStatus.OK, f"No active Azure health event for {job.location} or the job.", data)


def _headline(event: ActivityEvent) -> dict[str, str]:
    """Title and tracking id of a health event, from its properties (as Service Health writes them)."""
    lowered = {str(k).lower(): v for k, v in event.properties.items()}
    found = {"title": lowered.get("title"), "tracking_id": lowered.get("trackingid")}
    return {k: str(v) for k, v in found.items() if v}
