"""identity: the job's identity lost access (Key Vault references, registry, data-plane 401/403)."""

from __future__ import annotations

from bot.evidence.checks.signatures import signature_result, signature_rows
from bot.evidence.sources import Sources
from bot.model import CheckResult

NAME = "identity"
NEEDS = ("query:platform_errors",)  # the upstream reads it makes (prefetched together)


async def run(sources: Sources) -> CheckResult:
    """Managed-identity and secret-reference failures in the system logs."""
    found = await signature_rows(sources, "identity")
    return signature_result(NAME, found, "identity", "No identity or secret-access errors.")
