"""exit_codes: how containers ended, as a histogram with each code explained."""

from __future__ import annotations

from bot import exitcodes
from bot.evidence.payloads import ExitCodeCount, ExitCodesEvidence
from bot.evidence.sources import Sources
from bot.model import CheckResult, CheckStatus

NAME = "exit_codes"
NEEDS = ("query:exit_codes",)  # the upstream reads it makes (prefetched together)


async def run(sources: Sources) -> CheckResult:
    """Histogram of container exit codes in the window, with their meaning."""
    rows = (await sources.query("exit_codes")).rows
    codes = sorted(
        (ExitCodeCount(int(r["ExitCode"]), int(r.get("Count") or 0), int(r.get("Executions") or 0),
                       exitcodes.explain(int(r["ExitCode"])), r.get("LastSeen"))
         for r in rows if r.get("ExitCode") is not None),
        key=lambda c: (-c.executions, -c.count, c.code))
    bad = [c for c in codes if c.code != 0]
    data = ExitCodesEvidence(tuple(codes))
    if not bad:
        return CheckResult(NAME, CheckStatus.OK, "No container exited with an error code.", data)
    top = bad[0]
    others = f" (also {', '.join(str(c.code) for c in bad[1:4])})" if len(bad) > 1 else ""
    return CheckResult(NAME, CheckStatus.FAIL,
                       f"Exit code {top.code} in {top.executions} executions: {top.meaning}{others}.", data)
