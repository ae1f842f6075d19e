"""The audit evidence pack (review.md §3), built from what the review already read: pure functions from the
gathered facts, the report and the pack's own few reads to file contents.

Deterministic: the same world gives byte-identical files (sorted keys, UTC ISO times, explicit orderings,
a trailing newline). No secret values: the ARM definitions go through `masking`, and every file's data
through `bot.redact` with the values the caller knows are secret. A part that could not be read is a file
saying "not read: <why>", never a silent gap.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.evidence.payloads import ExitCodesEvidence, RetriesEvidence
from bot.evidence.rows import iso
from bot.model import ExecutionStatus
from bot.redact import redact, redact_data
from bot.review.cost import runtime_s
from bot.review.facts import Facts, covers
from bot.review.findings import ReviewReport, Status
from bot.review.log_reads import percentile
from bot.review.masking import mask_definition
from bot.review.report_json import review_to_dict
from bot.telemetry.requests import Attempt

MAX_DAYS = 90  # the Activity Log keeps 90 days
MANIFEST = "manifest.json"
README = "README.md"
# Actions of jobbot's own audit trail that show intent: reviews, owner approvals, rollbacks and their checklists.
AUDIT_ACTIONS = ("review", "approv", "rollback", "checklist", "evidence")
# Roles that can change the job (its image, scale rules, identity) or hand out access to it.
WRITER_ROLES = frozenset({"owner", "contributor", "user access administrator", "role based access control "
                          "administrator", "container apps contributor", "containerapps jobs contributor"})


@dataclass(frozen=True, slots=True)
class PackInputs:
    report: ReviewReport
    facts: Facts
    days: int
    reader: Mapping[str, str]  # how jobbot reads Azure: credential kind, principal as far as known
    requests: Sequence[Attempt] = ()
    job_definition: Mapping[str, Any] | None = None  # ARM JSON, unmasked (masked here)
    activity_rows: Sequence[Mapping[str, Any]] | None = None
    diagnostic_settings: Mapping[str, Any] | None = None  # the environment's, as ARM lists them
    audit_entries: Sequence[Mapping[str, Any]] | None = None  # jobbot's audit trail for the job
    runbooks: Mapping[str, str] = field(default_factory=dict)  # from config: verdict -> runbook template
    unread: Mapping[str, str] = field(default_factory=dict)  # "job definition" / "activity log" / "audit trail" …
    secrets: tuple[str, ...] = ()  # values never to write (settings' tokens …), on top of the patterns


def build_pack(inputs: PackInputs) -> dict[str, bytes]:
    """File name -> content, `manifest.json` last (it hashes the others)."""
    data: dict[str, Any] = {
        "job.json": _masked_or_unread(inputs, "job definition", inputs.job_definition),
        "environment.json": _masked_or_unread(inputs, "environment", inputs.facts.environment_body),
        "role-assignments.json": role_assignments(inputs),
        "identity-grants.json": identity_grants(inputs),
        "activity-log.json": activity_log(inputs),
        "diagnostic-settings.json": diagnostic_settings(inputs),
        "alert-rules.json": not_read("metric, log and activity-log alert rules and their action groups are not read "
                                     "by jobbot review yet (review.md N3)"),
        "owners.json": owners(inputs),
        "executions-summary.json": executions_summary(inputs),
        "findings.json": review_to_dict(inputs.report),
    }
    files = {name: _json_bytes(redact_data(value, inputs.secrets)) for name, value in data.items()}
    files[README] = (redact(readme(inputs, data), inputs.secrets) + "\n").encode()
    files[MANIFEST] = _json_bytes(redact_data(manifest(inputs, files), inputs.secrets))
    return dict(sorted(files.items()))


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, default=_plain) + "\n").encode()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value.astimezone(UTC))
    raise TypeError(f"{type(value).__name__} is not JSON")


def not_read(why: str) -> dict[str, str]:
    return {"not_read": why}


def _masked_or_unread(inputs: PackInputs, name: str, body: Mapping[str, Any] | None) -> Any:
    if body is None:
        return not_read(f"{name} could not be read: {inputs.unread.get(name) or inputs.facts.unread.get(name) or '?'}")
    return mask_definition(body, inputs.secrets)


# -- access ---------------------------------------------------------------------------------------------


def role_assignments(inputs: PackInputs) -> Any:
    """Every assignment the review read: those at or above the job (who can act on it) and the identities'."""
    facts = inputs.facts
    if facts.grants_list is None:
        return not_read(f"role assignments could not be read: {facts.unread.get('role assignments', '?')}")
    mine = set(facts.job.identity_principals) | {i.principal_id.lower() for i in facts.job.identities}
    return {
        "scope_read": facts.job.ref.id,
        "assignments": [{
            "principal_id": g.principal_id, "principal_type": g.principal_type, "role": g.role, "scope": g.scope,
            "covers_job": covers(g.scope, facts.job.ref.id), "job_identity": g.principal_id.lower() in mine,
            "can_change_job": g.role.lower() in WRITER_ROLES and covers(g.scope, facts.job.ref.id),
        } for g in facts.grants_list],
    }


def identity_grants(inputs: PackInputs) -> Any:
    """What each of the job's identities can do (its role assignments) and what the job reaches with it."""
    job = inputs.facts.job
    grants = inputs.facts.grants_list
    identities = sorted({(i.name, i.principal_id.lower(), i.resource_id or "") for i in job.identities}
                        | {("", p.lower(), "") for p in job.identity_principals
                           if p.lower() not in {i.principal_id.lower() for i in job.identities}})
    return {
        "identity_type": job.identity_type or "None",
        "identities": [{
            "name": name or None, "principal_id": principal, "resource_id": resource or None,
            "roles": None if grants is None else [{"role": g.role, "scope": g.scope} for g in grants
                                                  if g.principal_id.lower() == principal],
            "reaches": sorted(({"kind": a.kind.value, "name": a.name, "item": a.item} for a in job.access
                               if a.principal_id.lower() == principal),
                              key=lambda r: (r["kind"], r["name"], r["item"] or "")),
        } for name, principal, resource in identities],
        **({} if grants is not None else
           {"roles_not_read": inputs.facts.unread.get("role assignments", "role assignments could not be read")}),
    }


def diagnostic_settings(inputs: PackInputs) -> Any:
    """Where the environment exports its logs (the vaults' and event sources' settings are not read yet)."""
    environment = inputs.facts.job.environment_id or None
    if inputs.diagnostic_settings is None:
        return {"environment": environment, **not_read(
            f"the environment's diagnostic settings could not be read: "
            f"{inputs.unread.get('diagnostic settings', '?')}")}
    found = [s for s in inputs.diagnostic_settings.get("value") or [] if isinstance(s, Mapping)]
    app_logs = ((inputs.facts.environment_body or {}).get("properties") or {}).get("appLogsConfiguration")
    return {"environment": environment,
            "app_logs": None if app_logs is None else mask_definition(app_logs, inputs.secrets),
            "settings": sorted((mask_definition(s, inputs.secrets) for s in found),
                               key=lambda s: str(s.get("name") or "").lower()),
            "not_read_yet": "diagnostic settings of Key Vaults, registries and event sources (review.md N2)"}


# -- what happened ----------------------------------------------------------------------------------------


def activity_log(inputs: PackInputs) -> Any:
    now = inputs.facts.now
    window = {"start": iso(now - _days(inputs.days)), "end": iso(now), "days": inputs.days}
    if inputs.activity_rows is None:
        return {"window": window, **not_read(f"the Activity Log could not be read: "
                                             f"{inputs.unread.get('activity log', '?')}")}
    rows = [{k: _cell(v) for k, v in row.items()} for row in inputs.activity_rows]
    rows.sort(key=lambda r: tuple(str(r.get(k) or "") for k in
                                  ("TimeGenerated", "ResourceId", "OperationNameValue", "CorrelationId",
                                   "ActivityStatusValue", "CategoryValue", "Caller", "Properties")))
    return {"window": window, "source": "AzureActivity in the job's Log Analytics workspace (kql/config_changes.kql)",
            "covers": "the job, its environment and what it depends on (vaults, registries, event sources, "
                      "identities), role assignments and Key Vault access in its subscription, listSecrets, "
                      "Service and Resource Health",
            "entries": rows}


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value.astimezone(UTC))
    return value


def _days(days: int) -> timedelta:
    return timedelta(days=days)


def owners(inputs: PackInputs) -> Any:
    facts = inputs.facts
    found = facts.owners
    entries: Any
    if inputs.audit_entries is None:
        entries = not_read(f"jobbot's audit trail: {inputs.unread.get('audit trail', 'not read')}")
    else:
        entries = sorted(
            ({k: _cell(v) for k, v in e.items()} for e in inputs.audit_entries
             if any(word in str(e.get("action", "")).lower() for word in AUDIT_ACTIONS)),
            key=lambda e: (str(e.get("at")), str(e.get("action")), str(e.get("actor")), str(e.get("detail"))))
    return {
        "owners": None if found is None else {"primary": found.primary, "escalation": list(found.escalation),
                                              "fallback": found.fallback},
        "channel": facts.channel,
        "runbooks": dict(sorted(inputs.runbooks.items())),
        "tags": dict(sorted(facts.job.tags.items())),
        "jobbot_audit": entries,
    }


def executions_summary(inputs: PackInputs) -> Any:
    """Status by day, durations, exit codes and retries: counts only, never console text."""
    facts = inputs.facts
    now = facts.now
    if facts.executions_list is None:
        return not_read(f"executions could not be read: {facts.unread.get('executions', '?')}")
    since = now - _days(inputs.days)
    runs = [e for e in facts.executions_list if e.start is not None and since <= e.start <= now]
    by_day: dict[str, Counter[str]] = {}
    for e in runs:
        assert e.start is not None
        by_day.setdefault(e.start.astimezone(UTC).strftime("%Y-%m-%d"), Counter())[e.status.value] += 1
    durations = [s for e in runs if e.status is ExecutionStatus.SUCCEEDED and (s := runtime_s(e, now)) is not None]
    codes = _found(facts, "exit_codes", ExitCodesEvidence)
    retries = _found(facts, "retries", RetriesEvidence)
    cost = inputs.report.cost
    return {
        "window": {"start": iso(since), "end": iso(now), "days": inputs.days},
        "source": "ARM execution history (the most recent executions ARM keeps)",
        "executions": len(runs),
        "status_by_day": {day: dict(sorted(c.items())) for day, c in sorted(by_day.items())},
        "succeeded_duration_s": None if not durations else {
            "p50": round(percentile(durations, 0.5), 3), "p95": round(percentile(durations, 0.95), 3),
            "max": round(max(durations), 3), "count": len(durations)},
        "review_window": {"start": iso(facts.window.start), "end": iso(facts.window.end)},
        "exit_codes": codes if isinstance(codes, str) else [
            {"code": c.code, "count": c.count, "executions": c.executions, "meaning": c.meaning}
            for c in sorted(codes.codes, key=lambda c: (-c.executions, c.code))],
        "retries": retries if isinstance(retries, str) else {
            "retry_limit": retries.retry_limit, "executions_retried": retries.executions_retried,
            "executions_out_of_retries": retries.executions_out_of_retries, "max_attempts": retries.max_attempts},
        "cost": None if cost is None else {"currency": cost.currency, "window": cost.window, "month": cost.month,
                                           "rates_source": cost.rates_source},
    }


def _found(facts: Facts, check: str, kind: type[Any]) -> Any:
    result = facts.checks.get(check)
    found = None if result is None else result.found(kind)
    if found is None:
        return f"not read: the {check} check gave no evidence ({result.summary if result else 'it did not run'})"
    return found


# -- the manifest and the README --------------------------------------------------------------------------


def manifest(inputs: PackInputs, files: Mapping[str, bytes]) -> dict[str, Any]:
    report = inputs.report
    return {
        "kind": "jobbot-evidence-pack",
        "job": {"name": report.job.name, "resource_group": report.job.resource_group,
                "subscription": report.job.subscription, "id": report.job.id},
        "generated_at": iso(inputs.facts.now),
        "review_window": {"start": iso(report.window.start), "end": iso(report.window.end)},
        "activity_days": inputs.days,
        "reader": dict(sorted(inputs.reader.items())),
        "requests": requests(inputs.requests),
        "files": {name: {"sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}
                  for name, content in sorted(files.items())},
        "not_read": dict(sorted({**inputs.facts.unread, **inputs.unread}.items())),
    }


def requests(attempts: Iterable[Attempt]) -> list[dict[str, Any]]:
    """One line per distinct request (retries folded into `attempts`), in a stable order."""
    grouped: dict[tuple[str, str, str, str, str, str], list[Attempt]] = {}
    for a in attempts:
        key = (a.api, a.path.lower(), a.method, a.api_version or "", a.query or "", a.query_sha256 or "")
        grouped.setdefault(key, []).append(a)
    return [{"api": api, "method": method, "path": seen[0].path, "api_version": version or None,
             **({"query": query or None, "query_sha256": digest} if digest else {}),
             "attempts": len(seen), "statuses": sorted({s.status for s in seen}),
             "first_at": iso(min(s.at for s in seen))}
            for (api, _, method, version, query, digest), seen in sorted(grouped.items())]


def readme(inputs: PackInputs, data: Mapping[str, Any]) -> str:
    """The evidence mapped to the auditor's question: were access and behaviour intentional?"""
    report, facts = inputs.report, inputs.facts
    job = report.job
    lines = [f"# Evidence pack: {job.name}", "",
             f"Job `{job.id}`, read by jobbot at {iso(facts.now)} (UTC) with read-only calls only; the review "
             f"window is {iso(report.window.start)} to {iso(report.window.end)}, the Activity Log covers "
             f"{inputs.days} days. `manifest.json` lists every request made and the SHA-256 of every file; "
             "secret values are masked as [REDACTED] (environment values with credential-like names, every "
             "secret, anything shaped like a credential); secrets were never listed.", "",
             "## Were access and behaviour intentional?", ""]
    lines += ["### Who could act", *_who_could_act(data), ""]
    lines += ["### Who did (and whether it was approved)", *_who_did(data), ""]
    lines += ["### What ran", *_what_ran(data), ""]
    lines += ["### What would have alerted", *_what_alerts(inputs, data), ""]
    counts = Counter(f.status for f in report.findings)
    lines += ["### The review", f"- `findings.json`: {counts[Status.FAIL]} fail, {counts[Status.WARN]} warn, "
              f"{counts[Status.ERROR]} not evaluated, {counts[Status.SKIPPED]} not applicable of "
              f"{len(report.findings)} rules.", ""]
    lines += ["## Files", *(f"- `{name}`: {FILE_PURPOSE[name]}" for name in sorted(FILE_PURPOSE))]
    return "\n".join(lines)


FILE_PURPOSE = {
    "manifest.json": "who read (reader identity), every upstream request with its API version and time, file hashes",
    "job.json": "the job's ARM definition, secret values masked",
    "environment.json": "the managed environment's ARM definition, secret values masked",
    "role-assignments.json": "role assignments at or above the job and those of its identities",
    "identity-grants.json": "what each of the job's identities can do, and what the job reaches with it",
    "activity-log.json": "Activity Log entries on the job, its environment, dependencies and role assignments",
    "diagnostic-settings.json": "where logs are exported (or why they were not read)",
    "alert-rules.json": "alert rules with their receivers (or why they were not read)",
    "owners.json": "owners, channel, runbooks, and jobbot's own audit entries for the job",
    "executions-summary.json": "executions by day and status, durations, exit codes, retries, cost (no console text)",
    "findings.json": "the five-pillar review report",
}


def _who_could_act(data: Mapping[str, Any]) -> list[str]:
    assignments = data["role-assignments.json"]
    if "not_read" in assignments:
        return [f"- Not known: {assignments['not_read']}."]
    writers = [a for a in assignments["assignments"] if a["can_change_job"]]
    identity = [a for a in assignments["assignments"] if a["job_identity"]]
    lines = [f"- {_count(len(writers), 'role assignment')} at or above the job can change it or its access "
             f"(`role-assignments.json`, `can_change_job`){':' if writers else '.'}"]
    lines += [f"  - {a['role']} for {a['principal_type'] or 'principal'} `{a['principal_id']}` at `{a['scope']}`"
              for a in writers]
    lines.append(f"- The job's own identities hold {_count(len(identity), 'role assignment')} "
                 "(`identity-grants.json`).")
    return lines


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def _who_did(data: Mapping[str, Any]) -> list[str]:
    activity = data["activity-log.json"]
    lines: list[str] = []
    if "not_read" in activity:
        lines.append(f"- Not known from Azure: {activity['not_read']}.")
    else:
        writes = Counter((str(e.get("Caller") or "?"), str(e.get("OperationNameValue") or "?"))
                         for e in activity["entries"] if str(e.get("CategoryValue") or "").lower() == "administrative")
        lines.append(f"- {_count(sum(writes.values()), 'administrative operation')} in "
                     f"{activity['window']['days']} days (`activity-log.json`){':' if writes else '.'}")
        lines += [f"  - {caller}: {operation} × {count}" for (caller, operation), count in sorted(writes.items())]
    audit = data["owners.json"]["jobbot_audit"]
    if isinstance(audit, dict):
        lines.append(f"- Approvals recorded by jobbot: not known ({audit['not_read']}).")
    else:
        approvals = [e for e in audit if "approv" in str(e.get("action", "")).lower()]
        lines.append(f"- jobbot's audit trail holds {_count(len(audit), 'entry', 'entries')} on reviews, "
                     f"approvals and rollbacks of this job, {len(approvals)} of them approvals (`owners.json`).")
    return lines


def _what_ran(data: Mapping[str, Any]) -> list[str]:
    summary = data["executions-summary.json"]
    if "not_read" in summary:
        return [f"- Not known: {summary['not_read']}."]
    totals: Counter[str] = Counter()
    for counts in summary["status_by_day"].values():
        totals.update(counts)
    shown = ", ".join(f"{n} {status}" for status, n in sorted(totals.items())) or "none"
    durations = summary["succeeded_duration_s"]
    timing = "" if durations is None else f"; succeeded in p50 {durations['p50']:g} s, p95 {durations['p95']:g} s"
    return [f"- {summary['executions']} executions in {summary['window']['days']} days ({shown}){timing} "
            "(`executions-summary.json`, `job.json` for the image and configuration that ran)."]


def _what_alerts(inputs: PackInputs, data: Mapping[str, Any]) -> list[str]:
    lines = []
    for name in ("alert-rules.json", "diagnostic-settings.json"):
        if "not_read" in data[name]:
            lines.append(f"- `{name}`: {data[name]['not_read']}.")
    diagnostics = data["diagnostic-settings.json"]
    if "settings" in diagnostics:
        destination = (diagnostics["app_logs"] or {}).get("destination") or "none"
        lines.append(f"- Logs: the environment's destination is {destination}, with {len(diagnostics['settings'])} "
                     "diagnostic settings (`diagnostic-settings.json`).")
    for rule_id in ("OPS-02", "OPS-03", "OPS-04"):
        finding = inputs.report.finding(rule_id)
        if finding is not None:
            lines.append(f"- {rule_id} ({finding.status.value}): {finding.title}.")
    return lines
