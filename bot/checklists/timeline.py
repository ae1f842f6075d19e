"""Who did what, when: the checklist's events as rows, and as Markdown for the post-incident review. Pure.

The Markdown names people by the display names handed in (Slack ids mean nothing in a review document)
and keeps everything else as plain text; table cells have their pipes escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.checklists.model import BOT, Checklist, Event, EventKind, StepKind, StepStatus
from bot.text import one_line

_MARKS = {StepStatus.DONE: "[x]", StepStatus.SKIPPED: "[~]", StepStatus.OPEN: "[ ]"}


@dataclass(frozen=True, slots=True)
class Row:
    at: datetime
    actor: str  # Slack user id or BOT
    what: str  # plain text


def rows(checklist: Checklist) -> list[Row]:
    return [Row(e.at, e.actor, describe(checklist, e)) for e in checklist.events]


def describe(checklist: Checklist, event: Event) -> str:
    title = _title(checklist, event)
    match event.kind:
        case EventKind.OPENED:
            return f"opened the checklist ({event.note})" if event.note else "opened the checklist"
        case EventKind.BOT_DONE:
            return f"did “{title}” itself when the checklist opened: {event.note}"
        case EventKind.DONE:
            return "took the lead: go" if event.step is StepKind.LEAD else f"marked “{title}” done"
        case EventKind.SKIPPED:
            return f"no-go: {event.note}" if event.step is StepKind.LEAD else f"skipped “{title}”: {event.note}"
        case EventKind.UNDONE:
            return f"reopened “{title}” ({event.note})"
        case EventKind.CHECKED:
            return f"ran the verification: {event.note}"
        case EventKind.VERIFIED:
            return f"verified “{title}”: the read-only checks passed"
        case EventKind.RECHECKED:
            return f"re-checked {event.note}"
        case EventKind.SNAPSHOT:
            return "posted the configuration snapshot in the thread"
        case EventKind.CLOSED:
            return "closed the checklist"
    return event.kind.value  # pragma: no cover - every kind is matched above


def markdown(checklist: Checklist, names: Mapping[str, str] | None = None) -> str:
    """The whole trail as a Markdown document."""
    names = names or {}

    def who(actor: str | None) -> str:
        if not actor:
            return "nobody"
        return "jobbot" if actor == BOT else "@" + names.get(actor, actor)

    c = checklist
    lines = [
        f"# Rollback of {c.job.name}",
        "",
        f"- Job: `{c.job.name}` (resource group `{c.job.resource_group}`, subscription `{c.job.subscription}`)",
        f"- Cause: {c.cause.value}: {one_line(c.summary)}",
        (f"- Target: `{c.target.image}`" + (f" (was `{c.target.current_image}`)" if c.target.current_image else "")
         if c.target.image else f"- Revert: {_what(c)} (the image stays)"),
        f"- Opened {_time(c.opened_at)} by {who(c.opened_by)}"
        + (f"; closed {_time(c.closed_at)} by {who(c.closed_by)}" if c.closed_at else "; still open"),
        f"- Lead: {who(c.lead)}",
    ]
    if c.rechecks:
        lines.append("- Re-checks: " + "; ".join(
            f"+{r.after_min} min {'recovered' if r.recovered else 'not recovered'}" for r in c.rechecks))
    lines += ["", "## Timeline (UTC)", "", "| Time | Who | What |", "| --- | --- | --- |"]
    lines += [f"| {_time(r.at, seconds=True)} | {_cell(who(r.actor))} | {_cell(r.what)} |" for r in rows(c)]
    lines += ["", "## Steps", ""]
    for number, step in enumerate(c.steps, 1):
        line = f"{number}. {_MARKS[step.status]} {step.title}"
        if step.prefilled:
            line += f": done by jobbot when the checklist opened ({one_line(step.evidence)})"
        elif step.settled:
            line += f": {step.status.value} by {who(step.by)}" + (f" at {_time(step.at)}" if step.at else "")
        if step.reason:
            line += f" ({one_line(step.reason)})"
        lines.append(line)
    check = c.step(StepKind.VERIFY).check if c.has_step(StepKind.VERIFY) else None
    if check is not None:
        lines += ["", f"## Last verification ({_time(check.at)}: {'passed' if check.passed else 'not passed'})", ""]
        lines += [f"- {f.name}: {f.state.value}. {one_line(f.evidence)}" for f in check.findings]
    return "\n".join(lines) + "\n"


def _what(c: Checklist) -> str:
    """The change reverted (its one line, kept first in the target's diff) and how many properties."""
    n = len(c.reverts)
    head = c.target.diff[0] if c.target.diff else "the suspected change"
    return f"{head}; {n} propert{'y' if n == 1 else 'ies'} put back"


def _title(checklist: Checklist, event: Event) -> str:
    if event.step is None:
        return ""
    return next((s.title for s in checklist.steps if s.kind is event.step), event.step.value)


def _cell(text: str) -> str:
    return one_line(text).replace("|", "\\|")



def _time(moment: datetime, *, seconds: bool = False) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M UTC")
