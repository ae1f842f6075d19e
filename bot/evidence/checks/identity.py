"""identity: the job's identity lost access (Key Vault references, registry, data-plane 401/403)."""

from __future__ import annotations

from bot.evidence.checks.signatures import signature_result, signature_rows
from bot.evidence.signatures import ErrorKind, classify
from bot.evidence.sources import Sources
from bot.model import CheckResult

NAME = "identity"
NEEDS = ("query:platform_errors",)  # the upstream reads it makes (prefetched together)


async def run(sources: Sources) -> CheckResult:
    """Managed-identity and secret-reference failures in the system logs, and access refused to any other
    platform component (a scale rule reading its queue with a 403 is an identity problem too)."""
    found = await signature_rows(sources, "identity")
    for category in ("scaler", "image-pull"):
        found += [e for e in await signature_rows(sources, category)
                  if classify(f"{e.reason} {e.message}") is ErrorKind.IDENTITY]
    return signature_result(NAME, found, "identity", "No identity or secret-access errors.")
