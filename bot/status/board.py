"""The board, pure: one triage report -> one row; rows -> the board, worst first; the board as text,
JSON and a Block Kit message that fits Slack's limits with 50 jobs and more.

Nothing here reads Azure: `bot.status.service` gathers the reports, this module only summarises them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.evidence.payloads import ConfigChangesEvidence, ExitCodesEvidence, FailuresEvidence, QueueEvidence
from bot.model import Cause, CheckStatus, JobRef, TriageReport
from bot.slack.blocks import SlackMessage
from bot.slack.limits import BLOCKS_MAX, BUTTON_VALUE_MAX, SECTION_TEXT_MAX, check_blocks
from bot.slack.mrkdwn import cut_line, escape
from bot.text import utc_minute

TRIAGE_ACTION = "jobbot.status.triage"  # the Triage button beside each row
ROW_TEXT_MAX = 600  # one row's text in Slack; a section allows 3000, 50 rows must fit the message


class Health(StrEnum):
    FAILING = "failing"
    DEGRADED = "degraded"
    COULD_NOT_CHECK = "could-not-check"
    HEALTHY = "healthy"


# Worst first: a job known to fail, then one that wobbles, then one nobody could see, then the quiet ones.
RANK = {Health.FAILING: 0, Health.DEGRADED: 1, Health.COULD_NOT_CHECK: 2, Health.HEALTHY: 3}
MARK = {Health.FAILING: ":red_circle:", Health.DEGRADED: ":large_yellow_circle:",
        Health.COULD_NOT_CHECK: ":grey_question:", Health.HEALTHY: ":large_green_circle:"}


@dataclass(frozen=True, slots=True)
class Change:
    when: datetime | None
    who: str | None
    what: str


@dataclass(frozen=True, slots=True)
class Row:
    """One job on the board."""

    job: str
    resource_group: str
    job_id: str
    health: Health
    executions: int | None = None  # in the window; None when they could not be read
    failures: int | None = None
    top_reason: str | None = None  # "exit 137 (…)" or the commonest failure reason
    cause: str | None = None  # the triage's verdict (`oom`, `image-pull`, …)
    queue_depth: int | None = None  # only for a job with a queue scale rule
    queue_capacity: int | None = None
    last_change: Change | None = None
    why: str | None = None  # could-not-check: why; otherwise what evidence was missing

    @property
    def triage_command(self) -> str:
        return f"jobbot triage {self.job}"


@dataclass(frozen=True, slots=True)
class Board:
    scope: str  # "environment env-prod", "resource group rg-x", "all jobs"
    window: str  # "in the last hour"
    rows: tuple[Row, ...]  # worst first
    read_at: datetime | None = None

    def count(self, health: Health) -> int:
        return sum(1 for r in self.rows if r.health is health)


def row_from_report(report: TriageReport) -> Row:
    """What the board shows of one job's triage."""
    checks = {c.name: c for c in report.checks}
    failures = checks.get("failures")
    found = failures.evidence if failures is not None else None
    executions = found.total if isinstance(found, FailuresEvidence) else None
    failed = found.failed if isinstance(found, FailuresEvidence) else None
    ref = report.job
    base = dict(job=ref.name, resource_group=ref.resource_group, job_id=ref.id, executions=executions,
                failures=failed, top_reason=_top_reason(report, found), queue_depth=None, queue_capacity=None,
                last_change=_last_change(checks.get("config_changes")), cause=report.verdict.cause.value)
    queue = checks.get("queue_depth")
    if queue is not None and isinstance(queue.evidence, QueueEvidence):
        base.update(queue_depth=queue.evidence.depth, queue_capacity=queue.evidence.capacity)
    errors = [f"{c.name}: {c.error or c.summary}" for c in report.checks if c.status is CheckStatus.ERROR]
    if not isinstance(found, FailuresEvidence):
        why = errors[0] if errors else "the execution history could not be read"
        return Row(health=Health.COULD_NOT_CHECK, why=why, **base)  # type: ignore[arg-type]
    statuses = {c.status for c in report.checks}
    if failed or CheckStatus.FAIL in statuses:
        health = Health.FAILING
    elif CheckStatus.WARN in statuses or report.verdict.cause not in (Cause.HEALTHY, Cause.UNKNOWN):
        health = Health.DEGRADED
    else:
        health = Health.HEALTHY
    return Row(health=health, why="; ".join(errors) or None, **base)  # type: ignore[arg-type]


def could_not_check(ref: JobRef, why: str) -> Row:
    """A job whose triage did not finish at all (its lookup failed, a bug): a row, never a crash."""
    return Row(job=ref.name, resource_group=ref.resource_group, job_id=ref.id, health=Health.COULD_NOT_CHECK,
               why=why)


def ordered(rows: Sequence[Row]) -> tuple[Row, ...]:
    """Worst first: by health, then most failures, then the worst failure rate, then by name."""
    def key(row: Row) -> tuple[int, int, float, str]:
        failed = row.failures or 0
        rate = failed / row.executions if row.executions else 0.0
        return RANK[row.health], -failed, -rate, row.job.lower()

    return tuple(sorted(rows, key=key))


def _top_reason(report: TriageReport, failures: object) -> str | None:
    codes = next((c.evidence for c in report.checks if isinstance(c.evidence, ExitCodesEvidence)), None)
    if codes is not None and (top := codes.dominant_error) is not None:
        return f"exit {top.code} ({top.meaning}) in {top.executions} execution{'s' if top.executions != 1 else ''}"
    if isinstance(failures, FailuresEvidence):
        reasons = Counter(r for e in failures.executions if e.finished_badly
                          for r in (e.reasons or ((e.reason,) if e.reason else ())))
        if reasons:
            reason, n = reasons.most_common(1)[0]
            return f"{reason} ({n}x)"
    return None


def _last_change(check: object) -> Change | None:
    evidence = getattr(check, "evidence", None)
    if not isinstance(evidence, ConfigChangesEvidence) or not evidence.changes:
        return None
    newest = evidence.changes[0]
    return Change(newest.time, newest.caller, newest.operation)


# -- rendering ----------------------------------------------------------------------------------------


def _facts(row: Row) -> list[str]:
    if row.health is Health.COULD_NOT_CHECK:
        return [f"could not check: {row.why or 'no evidence'}"]
    facts = [f"{row.failures}/{row.executions} executions failed" if row.executions is not None
             else "executions unknown"]
    if row.top_reason:
        facts.append(row.top_reason)
    if row.cause and row.health is not Health.HEALTHY:
        facts.append(f"likely {row.cause}")
    if row.queue_depth is not None:
        facts.append(f"queue {row.queue_depth}/{row.queue_capacity} capacity")
    if row.last_change:
        c = row.last_change
        at = utc_minute(c.when) if c.when else "time unknown"
        facts.append(f"last change {at} by {c.who or 'unknown'}: {c.what}")
    return facts


def _heading(board: Board) -> str:
    counts = ", ".join(f"{board.count(h)} {h.value}" for h in Health if board.count(h))
    return f"jobbot status — {board.scope}, {board.window}: {len(board.rows)} jobs ({counts or 'none'})"


def render_text(board: Board) -> str:
    """The terminal board: one line per job, worst first, each with the command that triages it."""
    lines = [_heading(board)]
    for row in board.rows:
        lines.append(f"{row.health.value:<16} {row.job} ({row.resource_group}) — " + "; ".join(_facts(row)))
        if row.health is not Health.HEALTHY:
            lines.append(f"{'':<16} → {row.triage_command}")
    return "\n".join(lines) + "\n"


def board_to_dict(board: Board) -> dict[str, Any]:
    def row(r: Row) -> dict[str, Any]:
        change = r.last_change
        return {"job": r.job, "resource_group": r.resource_group, "id": r.job_id, "health": r.health.value,
                "executions": r.executions, "failures": r.failures, "top_reason": r.top_reason, "cause": r.cause,
                "queue": None if r.queue_depth is None else {"depth": r.queue_depth, "capacity": r.queue_capacity},
                "last_change": None if change is None else {
                    "time": change.when.isoformat() if change.when else None, "by": change.who,
                    "operation": change.what},
                "why": r.why, "triage": r.triage_command}

    return {"scope": board.scope, "window": board.window,
            "counts": {h.value: board.count(h) for h in Health},
            "jobs": [row(r) for r in board.rows]}


def render_blocks(board: Board) -> SlackMessage:
    """One message: a section per job that is not healthy (its Triage button beside it), worst first; the
    healthy jobs on one line; rows beyond Slack's 50 blocks folded into lines that name the command."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": cut_line(f"Status: {board.scope}", 150)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(_heading(board))[:3000]}]},
    ]
    unhealthy = [r for r in board.rows if r.health is not Health.HEALTHY]
    healthy = [r for r in board.rows if r.health is Health.HEALTHY]
    room = BLOCKS_MAX - len(blocks) - (1 if healthy else 0) - 1  # the last block may fold the rest
    shown, folded = unhealthy[:room], unhealthy[room:]
    if len(unhealthy) == room + 1:
        shown, folded = unhealthy, []
    for row in shown:
        text = f"{MARK[row.health]} *{escape(row.job)}* ({escape(row.resource_group)}) — " + \
               escape("; ".join(_facts(row)))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": cut_line(text, ROW_TEXT_MAX)},
                       "accessory": {"type": "button", "action_id": TRIAGE_ACTION,
                                     "text": {"type": "plain_text", "text": "Triage"},
                                     "value": row.job_id[:BUTTON_VALUE_MAX]}})
    if folded:
        lines = [f"{MARK[r.health]} *{escape(r.job)}* — `/jobbot triage {escape(r.job)}`" for r in folded]
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": _joined(lines, SECTION_TEXT_MAX)}})
    if healthy:
        names = ", ".join(escape(r.job) for r in healthy)
        text = f"{MARK[Health.HEALTHY]} *{len(healthy)} healthy*: {names}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": cut_line(text, SECTION_TEXT_MAX)}})
    problems = check_blocks(blocks)
    if problems:  # a bug in the packing above: say so rather than have Slack refuse the whole message
        raise ValueError("status board exceeds Slack limits: " + "; ".join(problems))
    fallback = _heading(board)
    return SlackMessage(text=fallback, blocks=blocks)


def _joined(lines: list[str], limit: int) -> str:
    out: list[str] = []
    for i, line in enumerate(lines):
        rest = len(lines) - i
        candidate = "\n".join([*out, line])
        if len(candidate) + 20 > limit:
            return "\n".join([*out, f"… and {rest} more"])
        out.append(line)
    return "\n".join(out)
