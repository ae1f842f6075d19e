"""The triage report for a terminal: what an engineer without Slack at hand needs, at a glance."""

from __future__ import annotations

from bot.evidence.payloads import FailuresEvidence
from bot.evidence.rows import iso
from bot.model import CheckStatus, TriageReport

MARKS = {
    CheckStatus.OK: "ok  ",
    CheckStatus.WARN: "WARN",
    CheckStatus.FAIL: "FAIL",
    CheckStatus.ERROR: "ERR ",
    CheckStatus.SKIPPED: "skip",
}


def render_text(report: TriageReport) -> str:
    v = report.verdict
    lines = [
        f"{report.job.name}  ({report.job.resource_group}, subscription {report.job.subscription})",
        f"window {iso(report.window.start)} .. {iso(report.window.end)}",
        "",
        f"VERDICT  {v.cause.value}  (confidence {v.confidence.value})",
        f"  {v.summary}",
    ]
    if v.suspected_change:
        c = v.suspected_change
        who = f" by {c.caller}" if c.caller else ""
        when = f" at {iso(c.time)}" if c.time else ""
        lines.append(f"  suspected change{when}{who}: {c.what}")
    if v.rollback_candidate:
        r = v.rollback_candidate
        lines.append(f"  rollback candidate: {r.image} (last success {iso(r.last_success) or 'unknown'})")
    lines += ["", "CHECKS"]
    for check in report.checks:
        lines.append(f"  [{MARKS[check.status]}] {check.name:<17} {check.summary}")
    failures = report.check("failures")
    found = failures.found(FailuresEvidence) if failures else None
    failing = [e for e in (found.executions if found else ()) if e.status != "Succeeded"]
    if failing:
        lines += ["", "EXECUTIONS (newest first, not succeeded)"]
        for e in failing[:8]:
            codes = ",".join(str(c) for c in e.exit_codes or ()) or "-"
            lines.append(f"  {e.name:<32} {e.status:<10} start {iso(e.start) or '-'}  exit {codes}  "
                         f"{e.image or ''}")
    if report.runbook:
        lines += ["", f"RUNBOOK  {report.runbook.title}"]
        lines += [f"  {i}. {step}" for i, step in enumerate(report.runbook.steps, 1)]
    if report.owners:
        chain = " -> ".join(report.owners.escalation)
        lines += ["", f"OWNERS  {report.owners.primary or 'unknown'}" + (f"  (escalation: {chain})" if chain else "")]
    if not report.evidence_complete:
        lines += ["", "Evidence is incomplete: see the checks marked ERR."]
    return "\n".join(lines) + "\n"
