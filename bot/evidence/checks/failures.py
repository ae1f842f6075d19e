"""failures: which executions in the window failed, how, and since when."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.errors import JobbotError, UpstreamError
from bot.evidence import executions as ex
from bot.evidence.activity import parse_activity
from bot.evidence.deadline import best_effort
from bot.evidence.payloads import ExecutionSummary, FailuresEvidence
from bot.evidence.rows import iso, rows_by
from bot.evidence.sources import Sources
from bot.model import CheckResult, CheckStatus, Execution, ExecutionStatus

NAME = "failures"
# The upstream reads it makes (prefetched together); the Activity Log says who stopped the job.
NEEDS = ("executions", "query:failed_executions", "query:config_changes")
_SHOWN = 10


async def run(sources: Sources) -> CheckResult:
    """Failed executions in the window, with reasons and exit codes from the system logs."""
    history = await sources.executions()
    recent = ex.in_window(history, sources.window)
    log_note = ""
    per_execution: dict[str, Mapping[str, Any]] = {}
    try:
        per_execution = rows_by((await sources.query("failed_executions")).rows, "ExecutionName")
    except UpstreamError as error:
        log_note = f" (could not read the system logs: {error})"

    failed = ex.failed(recent)
    last_success = _last_success(history)
    stopped = [e for e in recent if e.status is ExecutionStatus.STOPPED]
    stopped_by = await _who_stopped(sources) if stopped else None
    data = FailuresEvidence(
        total=len(recent),
        failed=len(failed),
        succeeded=len(ex.succeeded(recent)),
        running=len(ex.active(recent)),
        first_failure=min((e.start for e in failed if e.start), default=None),
        last_success=last_success,
        executions=tuple(_describe(e, per_execution.get(e.name)) for e in recent[:_SHOWN]),
        logs_error=log_note.strip(" ()") or None,
        stopped=len(stopped) or None,
        stopped_by=stopped_by,
    )
    stop_note = ""
    if stopped:
        stop_note = f"; {len(stopped)} stopped" + (f" (the job was stopped by {stopped_by})" if stopped_by else "")
    if not recent:
        return CheckResult(NAME, CheckStatus.WARN, "No executions ran in the window." + log_note, data)
    if not failed and stopped:
        return CheckResult(NAME, CheckStatus.WARN, f"No execution in the window failed{stop_note}: stopped work did "
                           "not complete." + log_note, data)
    if not failed:
        return CheckResult(NAME, CheckStatus.OK, f"All {len(recent)} executions in the window succeeded or are running."
                           + log_note, data)
    newest_finished = next((e for e in recent if e.end is not None), None)
    share = len(failed) / len(recent)
    status = CheckStatus.FAIL if share >= 0.5 or (newest_finished in failed) else CheckStatus.WARN
    summary = f"{len(failed)} of {len(recent)} executions in the window failed"
    if last_success:
        summary += f"; last success {iso(last_success)}"
    return CheckResult(NAME, status, summary + stop_note + "." + log_note, data)


async def _who_stopped(sources: Sources) -> str | None:
    """Who last stopped the job (or one of its executions) by hand, as the Activity Log says; None if unknown."""
    try:
        rows = await best_effort(sources.query("config_changes"))
    except JobbotError:
        return None
    stops = [e for e in parse_activity(rows.rows if rows else ()) if e.succeeded and e.caller
             and e.operation.upper().endswith("/STOP/ACTION")]
    return stops[0].caller if stops else None


def _last_success(history: Sequence[Execution]) -> datetime | None:
    moments = [e.end or e.start for e in ex.succeeded(history)]
    return max((m for m in moments if m is not None), default=None)


def _describe(execution: Execution, log_row: Mapping[str, Any] | None) -> ExecutionSummary:
    summary = ExecutionSummary(execution.name, execution.status.value, execution.start, execution.end,
                               execution.image, reason=execution.reason or None)
    if not log_row:
        return summary
    return dataclasses.replace(
        summary,
        reasons=tuple(str(r) for r in log_row.get("Reasons") or []),
        exit_codes=tuple(sorted(int(c) for c in log_row.get("ExitCodes") or [])),
        attempts=int(log_row.get("Attempts") or 0),
    )
