"""console_errors: the error signatures the workload printed, grouped and classified.

The query returns candidate rows raw; bot/evidence/console parses them (prefixes, JSON lines), groups a
multi-line trace into one event with its root cause, drops info/debug lines and success summaries,
scrubs secrets and classifies the whole message. Signatures reach this payload already scrubbed, so
every consumer (JSON, Slack, terminal, checklists, audit) gets the scrubbed text.
"""

from __future__ import annotations

from bot.evidence.console import Signature, summarise_console
from bot.evidence.payloads import ConsoleEvidence, ConsoleSignature
from bot.evidence.sources import Sources
from bot.model import CheckResult, CheckStatus

NAME = "console_errors"
NEEDS = ("query:console_errors",)  # the upstream reads it makes (prefetched together)
SHOWN = 15


async def run(sources: Sources) -> CheckResult:
    """Error events in console output, grouped by signature (ids and numbers blanked) and classified."""
    rows = (await sources.query("console_errors")).rows
    found = summarise_console(rows)
    data = ConsoleEvidence(tuple(_payload(s) for s in found[:SHOWN]))
    if not found:
        return CheckResult(NAME, CheckStatus.OK, "No errors in the console output.", data)
    top = found[0]
    return CheckResult(NAME, CheckStatus.WARN,
                       f"{len(found)} error signatures; most common ({top.kind.value}, "
                       f"{top.executions} executions): {top.text[:160]}", data)


def _payload(signature: Signature) -> ConsoleSignature:
    return ConsoleSignature(signature.text, signature.kind.value, signature.count, signature.executions,
                            signature.first_seen, signature.last_seen)
