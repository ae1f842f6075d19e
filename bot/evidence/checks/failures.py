"""failures: which executions in the window failed, how, and since when."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.errors import UpstreamError
from bot.evidence import executions as ex
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
    data: dict[str, Any] = {
        "total": len(recent),
        "failed": len(failed),
        "succeeded": len(ex.succeeded(recent)),
        "running": len(ex.active(recent)),
        "first_failure": iso(min((e.start for e in failed if e.start), default=None)),
        "last_success": iso(_last_success(history)),
        "executions": [_describe(e, per_execution.get(e.name)) for e in recent[:_SHOWN]],
    }
    if log_note:
        data["logs_error"] = log_note.strip(" ()")
    if not recent:
        return CheckResult(NAME, CheckStatus.WARN, "No executions ran in the window." + log_note, data)
    if not failed:
        return CheckResult(NAME, CheckStatus.OK, f"All {len(recent)} executions in the window succeeded or are running."
                           + log_note, data)
    newest_finished = next((e for e in recent if e.end is not None), None)
    share = len(failed) / len(recent)
    status = CheckStatus.FAIL if share >= 0.5 or (newest_finished in failed) else CheckStatus.WARN
    summary = f"{len(failed)} of {len(recent)} executions in the window failed"
    if data["last_success"]:
        summary += f"; last success {data['last_success']}"
    return CheckResult(NAME, status, summary + "." + log_note, data)


def _last_success(history: Sequence[Execution]) -> datetime | None:
    moments = [e.end or e.start for e in ex.succeeded(history)]
    return max((m for m in moments if m is not None), default=None)


def _describe(execution: Execution, log_row: Mapping[str, Any] | None) -> dict[str, Any]:
    described: dict[str, Any] = {
        "name": execution.name,
        "status": execution.status.value,
        "start": iso(execution.start),
        "end": iso(execution.end),
        "image": execution.image,
    }
    if execution.reason:
        described["reason"] = execution.reason
    if log_row:
        described["reasons"] = list(log_row.get("Reasons") or [])
        described["exit_codes"] = sorted(int(c) for c in log_row.get("ExitCodes") or [])
        described["attempts"] = int(log_row.get("Attempts") or 0)
    return described
