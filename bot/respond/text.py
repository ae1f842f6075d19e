"""The triage report for a terminal: what an engineer without Slack at hand needs, at a glance."""

from __future__ import annotations

from bot.evidence.change_revert import revert_commands_for
from bot.evidence.payloads import FailuresEvidence
from bot.evidence.rows import iso
from bot.model import NO_ROLLBACK_CAUSES, CheckStatus, TriageReport
from bot.respond.change_lines import diff_lines, owner_guidance, provenance

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
        where = provenance(c)
        if where:
            lines.append(f"    ({where})")
        lines += [f"    {line}" for line in diff_lines(c)]
        lines += [f"  also changed: {other.what}" for other in c.also]
    if v.suspected_change and v.cause not in NO_ROLLBACK_CAUSES:
        lines += [f"  to undo it: {command}" for command in revert_commands_for(v.suspected_change, report.job.id)]
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
    owners = report.owners
    if owners and (owners.primary or owners.escalation):
        chain = " -> ".join(owners.escalation)
        lines += ["", f"OWNERS  {owners.primary or 'no primary'}" + (f"  (escalation: {chain})" if chain else "")]
    else:
        lines += ["", "OWNERS  " + owner_guidance(report.job.name, owners.fallback if owners else None)]
    if not report.evidence_complete:
        lines += ["", "Evidence is incomplete: see the checks marked ERR."]
    return "\n".join(lines) + "\n"
