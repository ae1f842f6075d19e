"""capacity: the environment cannot place replicas (core quota, no node fits, profile full)."""

from __future__ import annotations

from bot.evidence.checks.signatures import signature_result, signature_rows
from bot.evidence.sources import Sources
from bot.model import CheckResult

NAME = "capacity"
NEEDS = ("query:platform_errors",)  # the upstream reads it makes (prefetched together)


async def run(sources: Sources) -> CheckResult:
    """Scheduling and quota errors in the system logs."""
    found = await signature_rows(sources, "capacity")
    return signature_result(NAME, found, "capacity", "No capacity or quota errors.")
