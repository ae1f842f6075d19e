"""Shared shape of the checks that look for one platform signature in the system logs."""

from __future__ import annotations

import re

from bot.evidence.payloads import PlatformEvent, SignatureEvidence
from bot.evidence.sources import Sources
from bot.model import CheckResult, CheckStatus


async def signature_rows(sources: Sources, category: str) -> list[PlatformEvent]:
    rows = (await sources.query("platform_errors")).rows
    return [
        PlatformEvent(r.get("Reason"), int(r.get("Count") or 0), int(r.get("Executions") or 0),
                      r.get("FirstSeen"), r.get("LastSeen"), _short(str(r.get("Sample") or "")))
        for r in rows
        if str(r.get("Category") or "").lower() == category
    ]


def signature_result(name: str, found: list[PlatformEvent], what: str, clean: str) -> CheckResult:
    data = SignatureEvidence(tuple(found))
    if not found:
        return CheckResult(name, CheckStatus.OK, clean, data)
    total = sum(f.count for f in found)
    first = found[0]
    return CheckResult(name, CheckStatus.FAIL, f"{total} {what} events ({first.reason}): {first.message}", data)


def _short(text: str, limit: int = 300) -> str:
    # SDK errors quoted in platform logs carry long ----- rulers between their useful parts.
    text = " ".join(re.sub(r"[-=_*]{5,}", " … ", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
