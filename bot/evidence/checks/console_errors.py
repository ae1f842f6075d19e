"""console_errors: the error signatures the workload printed, grouped and classified."""

from __future__ import annotations

import re

from bot.evidence.payloads import ConsoleEvidence, ConsoleSignature
from bot.evidence.signatures import classify
from bot.evidence.sources import Sources
from bot.model import CheckResult, CheckStatus

NAME = "console_errors"
# "5 uploaded, 0 failed", "errors=0": summaries of work that went well, caught by the query's error words.
_SUCCESS = re.compile(r"\b(?:0|no|zero)\s+(?:errors?|failed|failures?)\b|\b(?:errors?|failed|failures?)\s*[=:]\s*0\b",
                      re.IGNORECASE)
NEEDS = ("query:console_errors",)  # the upstream reads it makes (prefetched together)


async def run(sources: Sources) -> CheckResult:
    """Error lines in console output, grouped by signature (ids and numbers blanked) and classified."""
    rows = (await sources.query("console_errors")).rows
    signatures = [
        ConsoleSignature(str(r.get("Signature") or ""), classify(str(r.get("Signature") or "")).value,
                         int(r.get("Count") or 0), int(r.get("Executions") or 0), r.get("FirstSeen"), r.get("LastSeen"))
        for r in rows
        if not _reports_success(str(r.get("Sample") or r.get("Signature") or ""))
    ]
    signatures.sort(key=lambda s: (-s.executions, -s.count))
    data = ConsoleEvidence(tuple(signatures[:15]))
    if not signatures:
        return CheckResult(NAME, CheckStatus.OK, "No errors in the console output.", data)
    top = signatures[0]
    return CheckResult(NAME, CheckStatus.WARN,
                       f"{len(signatures)} error signatures; most common ({top.kind}, "
                       f"{top.executions} executions): {top.signature[:160]}", data)


def _reports_success(line: str) -> bool:
    return bool(_SUCCESS.search(line))
