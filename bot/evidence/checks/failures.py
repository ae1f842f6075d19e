"""failures: which executions in the window failed, how, and since when."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.errors import UpstreamError
from bot.evidence import executions as ex
from bot.evidence.payloads import ExecutionSummary, FailuresEvidence
from bot.evidence.rows import iso, rows_by
from bot.evidence.sources import Sources
from bot.model import CheckResult, CheckStatus, Execution

NAME = "failures"
NEEDS = ("executions", "query:failed_executions")  # the upstream reads it makes (prefetched together)
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
    data = FailuresEvidence(
        total=len(recent),
        failed=len(failed),
        succeeded=len(ex.succeeded(recent)),
        running=len(ex.active(recent)),
        first_failure=min((e.start for e in failed if e.start), default=None),
        last_success=last_success,
        executions=tuple(_describe(e, per_execution.get(e.name)) for e in recent[:_SHOWN]),
        logs_error=log_note.strip(" ()") or None,
    )
    if not recent:
        return CheckResult(NAME, CheckStatus.WARN, "No executions ran in the window." + log_note, data)
    if not failed:
        return CheckResult(NAME, CheckStatus.OK, f"All {len(recent)} executions in the window succeeded or are running."
                           + log_note, data)
    newest_finished = next((e for e in recent if e.end is not None), None)
    share = len(failed) / len(recent)
    status = CheckStatus.FAIL if share >= 0.5 or (newest_finished in failed) else CheckStatus.WARN
    summary = f"{len(failed)} of {len(recent)} executions in the window failed"
    if last_success:
        summary += f"; last success {iso(last_success)}"
    return CheckResult(NAME, status, summary + "." + log_note, data)


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
