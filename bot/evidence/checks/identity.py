"""identity: the job's identity lost access (Key Vault references, registry, data-plane 401/403)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.errors import JobbotError, NotApplicable
from bot.evidence.checks.signatures import signature_result, signature_rows
from bot.evidence.deadline import best_effort
from bot.evidence.payloads import IdentityEvidence, PlatformEvent
from bot.evidence.role_access import assess
from bot.evidence.signatures import ErrorKind, classify
from bot.evidence.sources import Sources
from bot.model import CheckResult

NAME = "identity"
# The upstream reads it makes (prefetched together): the role assignments depend on the job only, so they
# join the first round beside the queries.
NEEDS = ("query:platform_errors", "changes:roles")


async def run(sources: Sources) -> CheckResult:
    """Managed-identity and secret-reference failures in the system logs, and access refused to any other
    platform component (a scale rule reading its queue with a 403 is an identity problem too). With any of
    those, the roles the job's identities hold now on what they failed to reach."""
    found = await _access_errors(sources)
    result = signature_result(NAME, found, "identity", "No identity or secret-access errors.")
    if not found or not sources.job.access:
        return _with(result, IdentityEvidence(tuple(found)))
    assignments, unread = await _assignments(sources)  # prefetched: already on its way
    if assignments is None:
        what = ", ".join(sorted({a.name for a in sources.job.access}))
        return _with(result, IdentityEvidence(tuple(found), access_error=f"could not check the roles on {what}: "
                                                                          f"{unread}"))
    # The verdict reads these against the change evidence (a deleted role assignment: still missing?).
    return _with(result, IdentityEvidence(tuple(found), assess(sources.job, assignments)))


async def _access_errors(sources: Sources) -> list[PlatformEvent]:
    found = await signature_rows(sources, "identity")
    for category in ("scaler", "image-pull"):
        found += [e for e in await signature_rows(sources, category)
                  if classify(f"{e.reason} {e.message}") is ErrorKind.IDENTITY]
    return found


async def _assignments(sources: Sources) -> tuple[Sequence[Mapping[str, Any]] | None, str]:
    """The job's identities' role assignments, or None and why not (a 403 is a reason, never a crash)."""
    try:
        found = await best_effort(sources.role_assignments())
    except NotApplicable as reason:
        return None, str(reason)
    except JobbotError as error:
        return None, str(error)
    return (found, "") if found is not None else (None, "no answer in time")


def _with(result: CheckResult, evidence: IdentityEvidence) -> CheckResult:
    return CheckResult(result.name, result.status, result.summary, evidence)
