"""The triage report for a terminal: what an engineer without Slack at hand needs, at a glance."""

from __future__ import annotations

from datetime import UTC

from bot.evidence.change_revert import revert_commands_for
from bot.evidence.payloads import FailuresEvidence
from bot.evidence.rows import iso
from bot.model import NO_ROLLBACK_CAUSES, CheckStatus, TriageReport
from bot.respond.change_lines import diff_lines, owner_guidance, provenance
from bot.respond.links import iso_interval, log_analytics_url, portal_url
from bot.respond.next_step import next_step

_EXECUTIONS_SHOWN = 8
MARKS = {
    CheckStatus.OK: "ok  ",
    CheckStatus.WARN: "WARN",
    CheckStatus.FAIL: "FAIL",
    CheckStatus.ERROR: "ERR ",
    CheckStatus.SKIPPED: "skip",
}


def evidence_from(report: TriageReport) -> str:
    """'evidence from 14:02:11 UTC': when the oldest answer the report rests on was read (reads are shared
    and briefly reused between triages, so it can be a little before the report)."""
    read_at = report.evidence_read_at
    return "" if read_at is None else f"evidence from {read_at.astimezone(UTC):%H:%M:%S} UTC"


def _read_at(report: TriageReport) -> str:
    line = evidence_from(report)
    return f"; {line}" if line else ""


def render_text(report: TriageReport) -> str:
    """In the order a responder reads: verdict, next step and owner, what changed, what could not be checked,
    then the details."""
    v = report.verdict
    lines = [
        f"{report.job.name}  ({report.job.resource_group}, subscription {report.job.subscription})",
        f"window {iso(report.window.start)} .. {iso(report.window.end)}" + _read_at(report),
        "",
        f"VERDICT  {v.cause.value}  (confidence {v.confidence.value})",
        f"  {v.summary}",
    ]
    step = next_step(report)
    lines += ["", f"NEXT  {step.plain()}" if step else "NEXT  see the runbook below"]
    owners = report.owners
    if owners and (owners.primary or owners.escalation):
        chain = " -> ".join(owners.escalation)
        lines.append(f"  owner: {owners.primary or 'no primary'}" + (f"  (escalation: {chain})" if chain else ""))
    else:
        lines.append("  owner: " + owner_guidance(report.job.name, owners.fallback if owners else None))
    if v.suspected_change or v.rollback_candidate:
        lines += ["", "CHANGED"]
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
    if not report.evidence_complete:
        errored = [c.name for c in report.checks if c.status is CheckStatus.ERROR]
        missing = list(dict.fromkeys([*errored, *v.missing_evidence]))
        lines += ["", f"COULD NOT CHECK  {', '.join(missing)} (see the checks marked ERR)"]
    lines += ["", "CHECKS"]
    for check in report.checks:
        lines.append(f"  [{MARKS[check.status]}] {check.name:<17} {check.summary}")
    failures = report.check("failures")
    found = failures.found(FailuresEvidence) if failures else None
    failing = [e for e in (found.executions if found else ()) if e.status != "Succeeded"]
    if failing:
        lines += ["", "EXECUTIONS (newest first, not succeeded)"]
        for e in failing[:_EXECUTIONS_SHOWN]:
            codes = ",".join(str(c) for c in e.exit_codes or ()) or "-"
            lines.append(f"  {e.name:<32} {e.status:<10} start {iso(e.start) or '-'}  exit {codes}  "
                         f"{e.image or ''}")
        hidden = max(found.failed if found else 0, len(failing)) - min(len(failing), _EXECUTIONS_SHOWN)
        if hidden > 0:
            lines.append(f"  … and {hidden} more — --format json lists the newest ten, the portal all of them")
    if report.runbook:
        lines += ["", f"RUNBOOK  {report.runbook.title}"]
        lines += [f"  {i}. {step}" for i, step in enumerate(report.runbook.steps, 1)]
    links = _links(report)
    if links:
        lines += ["", "LINKS"] + [f"  {label}: {url}" for label, url in links]
    return "\n".join(lines) + "\n"


def _links(report: TriageReport) -> list[tuple[str, str]]:
    """The job in the portal, and each canned query in Log Analytics when the workspace is known."""
    found = [("job in the Azure portal", portal_url(report.job.id))] if report.job.id.strip() else []
    timespan = iso_interval(report.window.start, report.window.end)
    for name, query in report.queries.items():
        url = log_analytics_url(report.workspace_resource_id, query, timespan=timespan)
        if url:
            found.append((f"logs: {name}", url))
    return found
