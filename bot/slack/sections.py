"""The parts of the triage message, one builder each: header, verdict, suspected change, owners, checks,
evidence, runbook, links, console excerpts, actions and the context line.

Each builder keeps its own part within Slack's limits (capped lines, `pack`ed sections) and escapes
what it quotes; which parts fit in the whole message is `packing`'s job. Summaries arrive through
`scrub`, which hides quotes of console output unless the caller allowed them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, TypeVar

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
)

from bot import exitcodes
from bot.evidence.change_revert import revert_commands_for
from bot.evidence.payloads import ConsoleEvidence, ExecutionSummary, ExitCodesEvidence, FailuresEvidence, QueueEvidence
from bot.evidence.rows import iso
from bot.model import NO_ROLLBACK_CAUSES, Cause, CheckResult, CheckStatus, TriageReport
from bot.respond.change_lines import diff_lines, owner_guidance
from bot.respond.links import iso_interval, log_analytics_url, portal_url
from bot.respond.next_step import next_step
from bot.respond.text import evidence_from
from bot.slack.kit import block_dict, section
from bot.slack.limits import (
    ACTION_ID_MAX,
    ACTIONS_ELEMENTS_MAX,
    BUTTON_STYLES,
    BUTTON_TEXT_MAX,
    BUTTON_VALUE_MAX,
    HEADER_TEXT_MAX,
    SECTION_TEXT_MAX,
    TEXT_OBJECT_MAX,
    TRUNCATED,
    URL_MAX,
    truncate,
)
from bot.slack.mrkdwn import code_span, cut_line, escape, fit, fit_joined, link, mention, one_line, when
from bot.slack.packing import pack

MARKS: Mapping[CheckStatus, str] = {
    CheckStatus.OK: ":white_check_mark:",
    CheckStatus.WARN: ":warning:",
    CheckStatus.FAIL: ":x:",
    CheckStatus.ERROR: ":grey_question:",
    CheckStatus.SKIPPED: ":heavy_minus_sign:",
}
E = TypeVar("E")
_CAUSE_MARKS: Mapping[Cause, str] = {Cause.HEALTHY: ":large_green_circle:", Cause.UNKNOWN: ":white_circle:"}
_PROBLEM_MARK = ":red_circle:"
# Most urgent first: a reader on a phone sees what is wrong before what is fine.
_SEVERITY = {CheckStatus.FAIL: 0, CheckStatus.ERROR: 1, CheckStatus.WARN: 2, CheckStatus.OK: 3, CheckStatus.SKIPPED: 4}

# Per-line caps (raw characters before escaping) keep one long item from eating a whole section.
_CHECK_SUMMARY_MAX = 280
_EXECUTION_LINE_MAX = 300
_STEP_MAX = 500
_EXCERPT_MAX = 300
_EXECUTIONS_SHOWN = 8
_EXIT_CODES_SHOWN = 5
_EXCERPTS_SHOWN = 5


@dataclass(frozen=True, slots=True)
class ButtonSpec:
    """A button of the report's actions block. `text` longer than Slack allows is cut (it is only a
    label); an `action_id`, `value` or `url` out of bounds is a programming error and raises here."""

    text: str
    action_id: str
    value: str | None = None
    style: Literal["primary", "danger"] | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("button text is empty")
        if not 0 < len(self.action_id) <= ACTION_ID_MAX:
            raise ValueError(f"button action_id must be 1..{ACTION_ID_MAX} characters: {self.action_id[:40]!r}…")
        if self.value is not None and len(self.value) > BUTTON_VALUE_MAX:
            raise ValueError(f"button value is {len(self.value)} characters, limit {BUTTON_VALUE_MAX}")
        if self.url is not None and not 0 < len(self.url) <= URL_MAX:
            raise ValueError(f"button url must be 1..{URL_MAX} characters")
        if self.style is not None and self.style not in BUTTON_STYLES:
            raise ValueError(f"button style must be one of {sorted(BUTTON_STYLES)} or None: {self.style!r}")


# --- the parts -------------------------------------------------------------------------------------


def header_block(report: TriageReport) -> dict[str, Any]:
    verdict = report.verdict
    mark = _CAUSE_MARKS.get(verdict.cause, _PROBLEM_MARK)
    suffix = f" — {verdict.cause.value} ({verdict.confidence.value})"
    room = HEADER_TEXT_MAX - len(mark) - 1 - len(suffix)
    text = f"{mark} {truncate(one_line(report.job.name) or 'job', room)}{suffix}"
    return block_dict(HeaderBlock(block_id="jobbot.header", text=PlainTextObject(text=text, emoji=True)))


def verdict_block(report: TriageReport, scrub: Callable[[str], str]) -> dict[str, Any]:
    summary = scrub(one_line(report.verdict.summary)) or "No summary."
    return section(fit(summary, SECTION_TEXT_MAX, note=TRUNCATED), block_id="jobbot.verdict")


def next_step_blocks(report: TriageReport, scrub: Callable[[str], str]) -> list[dict[str, Any]]:
    """The one next step, right under the verdict (respond/next_step.py chooses it)."""
    step = next_step(report)
    if step is None:
        return []
    text = f":point_right: *Next:* {fit(scrub(one_line(step.text)), 1500)}"
    if step.command:
        text += f" {code_span(step.command, 1200)}"
    if step.more:
        text += f" _(and {step.more} more with the change below)_"
    return [section(text, block_id="jobbot.next")]


def change_blocks(report: TriageReport) -> list[dict[str, Any]]:
    verdict = report.verdict
    change, rollback = verdict.suspected_change, verdict.rollback_candidate
    lines = []
    if change is not None:
        lines.append(f":arrows_counterclockwise: *Suspected change:* {fit(one_line(change.what), 1000)}")
        detail = [when(change.time)] if change.time else []
        if change.caller:
            detail.append(f"by {fit(change.caller, 200)}")
        if change.operation:
            detail.append(code_span(change.operation, 200))
        if change.source is not None:
            detail.append(f"from {escape(change.source.value)}")
        if change.usual_deployer:
            detail.append(f"_not the job's usual deployer ({fit(change.usual_deployer, 200)})_")
        if detail:
            lines.append(" · ".join(detail))
        lines += [f"• {code_span(line, 300)}" if not line.startswith("+") else f"_{escape(line)}_"
                  for line in diff_lines(change)]
        if change.also:
            others = "; ".join(one_line(other.what) for other in change.also[:3])
            more = f" (+{len(change.also) - 3} more)" if len(change.also) > 3 else ""
            lines.append(f"_Also changed:_ {fit(others, 600)}{more}")
    if rollback is not None and change is not None and verdict.cause not in NO_ROLLBACK_CAUSES:
        line = f":leftwards_arrow_with_hook: *Rollback candidate:* {code_span(rollback.image, 500)}"
        extra = [f"last success {when(rollback.last_success)}"] if rollback.last_success else []
        if rollback.execution:
            extra.append(f"execution {code_span(rollback.execution, 200)}")
        lines.append(line + (f" ({', '.join(extra)})" if extra else ""))
    elif change is not None and verdict.cause in NO_ROLLBACK_CAUSES and verdict.cause is not Cause.HEALTHY:
        lines.append(f"_A rollback would not help: the cause ({verdict.cause.value}) lies outside the job._")
    if change is not None and verdict.cause not in NO_ROLLBACK_CAUSES:
        reverts = revert_commands_for(change, report.job.id)
        if reverts:
            lines.append(":wrench: *To undo it* (for a person to run):")
            lines += [f"• {code_span(command, 600)}" for command in reverts[:3]]
    if not lines:
        return []
    return [section(truncate("\n".join(lines), SECTION_TEXT_MAX, note=TRUNCATED))]


def owners_block(report: TriageReport) -> dict[str, Any]:
    owners = report.owners
    label = ":busts_in_silhouette: *Owners:*"
    if owners is None or (not owners.primary and not owners.escalation):
        fallback = owners.fallback if owners else None
        # A channel id becomes a link to the channel; the marker keeps it out of the escaping.
        where = f"<#{fallback}>" if fallback and fallback[:1] in "CG" and fallback.isalnum() else escape(fallback or "")
        guidance = escape(owner_guidance(report.job.name, "@@where@@" if fallback else None)).replace("@@where@@",
                                                                                                     where)
        return section(f"{label} _{guidance}_", block_id="jobbot.owners")
    text = f"{label} {mention(owners.primary) if owners.primary else '_no primary owner_'}"
    if owners.escalation:
        text += " · escalation: "
        chain: list[str] = []
        for i, person in enumerate(owners.escalation):
            rest = len(owners.escalation) - i
            item = mention(person)
            if len(text) + len(" → ".join([*chain, item])) + len(f" → … {rest} more") > SECTION_TEXT_MAX:
                chain.append(f"… {rest} more")
                break
            chain.append(item)
        text += " → ".join(chain)
    return section(text, block_id="jobbot.owners")


def context_block(report: TriageReport, notes: Sequence[str]) -> dict[str, Any]:
    window = report.window
    items = [f"Window {when(window.start)} – {when(window.end, time_only=True)} ({_human(window.length)})"]
    if read_at := evidence_from(report):
        items.append(read_at)
    errored = [c.name for c in report.checks if c.status is CheckStatus.ERROR]
    missing = list(dict.fromkeys([*errored, *report.verdict.missing_evidence]))
    names = fit(", ".join(one_line(m) for m in missing), 1500)
    if not report.evidence_complete:
        items.append(f":warning: *evidence incomplete: could not check {names}*")
    elif missing:
        items.append(f"missing evidence: {names}")
    items += notes
    text = fit_joined(items, TEXT_OBJECT_MAX)
    return block_dict(ContextBlock(block_id="jobbot.context", elements=[MarkdownTextObject(text=text, verbatim=True)]))


def checks_blocks(checks: Sequence[CheckResult], scrub: Callable[[str], str], *, divider: bool,
                  sort: bool = True) -> list[dict[str, Any]]:
    if not checks:
        return []
    ordered = sorted(checks, key=lambda c: _SEVERITY.get(c.status, 9)) if sort else list(checks)
    lines = [f"{MARKS.get(c.status, ':grey_question:')} *{fit(one_line(c.name), 60)}* "
             f"{fit(scrub(one_line(c.summary)), _CHECK_SUMMARY_MAX)}" for c in ordered]
    texts = pack(lines, heading="*Checks*" if divider else None, max_sections=2, more="checks")
    return ([block_dict(DividerBlock())] if divider else []) + [section(t) for t in texts]


def evidence_blocks(report: TriageReport) -> list[dict[str, Any]]:
    blocks = [section(t) for t in _execution_texts(report)]
    tail = [t for t in (_exit_code_text(report), _queue_text(report)) if t]
    if tail:
        blocks.append(section(truncate("\n\n".join(tail), SECTION_TEXT_MAX, note=TRUNCATED)))
    return blocks


def _execution_texts(report: TriageReport) -> list[str]:
    failures = _found(report, "failures", FailuresEvidence)
    if failures is None:
        return []
    executions = [e for e in failures.executions if e.finished_badly]
    if not executions:
        return []
    failed_total = max(failures.failed, len(executions))
    total = failures.total
    heading = f"*Failing executions* ({failed_total} of {total} in the window)" if total else "*Failing executions*"
    lines = [_execution_line(e) for e in executions[:_EXECUTIONS_SHOWN]]
    return pack(lines, heading=heading, max_sections=1, more="failing executions",
                hidden=failed_total - len(lines))


def _execution_line(execution: ExecutionSummary) -> str:
    parts = [f"{code_span(execution.name or '?', 80)} {escape(one_line(execution.status or '?'))}"]
    if execution.start:
        parts.append(when(iso(execution.start)))
    codes = execution.exit_codes or ()
    if codes:
        parts.append("exit " + ", ".join(f"*{c}*" for c in codes))
    reasons = [r for r in execution.reasons or () if r] or ([execution.reason] if execution.reason else [])
    if reasons:
        parts.append(escape(one_line(", ".join(reasons[:3]))))
    if execution.attempts and execution.attempts > 1:
        parts.append(f"{execution.attempts} attempts")
    if execution.image:
        parts.append(code_span(execution.image.rsplit("/", 1)[-1], 100))
    return cut_line("• " + " · ".join(parts), _EXECUTION_LINE_MAX)


def _exit_code_text(report: TriageReport) -> str | None:
    """Each non-zero exit code seen, with its meaning (from the exit_codes check, else explained here)."""
    codes: dict[int, str] = {}
    exit_check = _found(report, "exit_codes", ExitCodesEvidence)
    for entry in exit_check.codes if exit_check else ():
        if entry.code == 0:
            continue
        meaning = entry.meaning or exitcodes.explain(entry.code)
        count = entry.executions
        codes[entry.code] = (f"• *{entry.code}*" + (f" in {count} executions" if count else "")
                             + f": {escape(one_line(meaning))}")
    failures = _found(report, "failures", FailuresEvidence)
    for execution in failures.executions if failures else ():
        for code in execution.exit_codes or ():
            if code != 0 and code not in codes:
                codes[code] = f"• *{code}*: {escape(exitcodes.explain(code))}"
    if not codes:
        return None
    lines = [cut_line(line, 400) for line in list(codes.values())[:_EXIT_CODES_SHOWN]]
    return pack(lines, heading="*Exit codes*", max_sections=1, more="exit codes", limit=1800,
                hidden=len(codes) - len(lines))[0]


def _queue_text(report: TriageReport) -> str | None:
    queue = _found(report, "queue_depth", QueueEvidence)
    if queue is None:
        return None
    depth = queue.depth
    where = "/".join(part for part in (queue.namespace, queue.entity) if part)
    target, max_exec, capacity = queue.target_per_execution, queue.max_executions, queue.capacity
    line = f":inbox_tray: *Queue*{' ' + code_span(where, 300) if where else ''}: *{depth}* messages waiting"
    if capacity:
        line += f" vs *{capacity}* per round"
        if target and max_exec:
            line += f" (scale target {target} per execution × maxExecutions {max_exec})"
        if depth > capacity:
            line += f", {depth / capacity:.1f}× that"
    running = queue.running
    if running is not None:
        line += f" · {running} running"
    dead = queue.dead_letter
    if dead:
        line += f" · {dead} dead-lettered"
    return cut_line(line, 1000)


def runbook_blocks(report: TriageReport) -> list[dict[str, Any]]:
    runbook = report.runbook
    if runbook is None or not runbook.steps:
        return []
    heading = f":clipboard: *Runbook: {fit(one_line(runbook.title) or runbook.id, 150)}*"
    lines = [f"{i}. {fit(one_line(step), _STEP_MAX)}" for i, step in enumerate(runbook.steps, 1)]
    texts = pack(lines, heading=heading, max_sections=2, more="steps", tail=f" (runbook {fit(runbook.id, 60)})")
    return [block_dict(DividerBlock()), *(section(t) for t in texts)]


def links_blocks(report: TriageReport, workspace_resource_id: str | None,
                 query_texts: Mapping[str, str] | None) -> list[dict[str, Any]]:
    lines = []
    if report.job.id.strip():
        lines.append(_link_line(portal_url(report.job.id), "Job in the Azure portal", "resource id too long to link"))
    if workspace_resource_id and query_texts:
        timespan = iso_interval(report.window.start, report.window.end)
        for name, query in query_texts.items():
            url = log_analytics_url(workspace_resource_id, query, timespan=timespan)
            lines.append(_link_line(url, f"Logs: {one_line(name)}", "query too long to link"))
    if not lines:
        return []
    texts = pack(lines, heading=":link: *Links*", max_sections=2, more="links")
    return [section(t) for t in texts]


def _link_line(url: str | None, label: str, why_not: str) -> str:
    """A bullet with the link, or with the label and why there is no link (a link is never cut)."""
    line = f"• {link(url, label[:100])}" if url and len(url) <= URL_MAX else ""
    if not line or len(line) > SECTION_TEXT_MAX - 100:
        line = f"• {fit(label, 100)} _({why_not})_"
    return line


def excerpt_blocks(report: TriageReport) -> list[dict[str, Any]]:
    console = _found(report, "console_errors", ConsoleEvidence)
    signatures = console.signatures if console else ()
    if not signatures:
        return []
    lines = []
    for sig in signatures[:_EXCERPTS_SHOWN]:
        what = ", ".join(x for x in (sig.kind, _count(sig.executions, "execution")) if x)
        lines.append(cut_line(f"• {escape(what)}: {code_span(sig.signature, _EXCERPT_MAX)}", 500))
    return [section(t) for t in pack(lines, heading="*Console errors* (normalised excerpts)", max_sections=1,
                                     more="error signatures", hidden=len(signatures) - len(lines))]


def actions_blocks(actions: Sequence[ButtonSpec]) -> list[dict[str, Any]]:
    if not actions:
        return []
    buttons = [
        ButtonElement(text=PlainTextObject(text=truncate(one_line(a.text), BUTTON_TEXT_MAX), emoji=True),
                      action_id=a.action_id, value=a.value, style=a.style, url=a.url)
        for a in actions[:ACTIONS_ELEMENTS_MAX]
    ]
    return [block_dict(ActionsBlock(block_id="jobbot.actions", elements=buttons))]


# --- small helpers ---------------------------------------------------------------------------------


def _human(length: timedelta) -> str:
    seconds = int(length.total_seconds())
    if seconds >= 86400 and seconds % 86400 == 0:
        return f"{seconds // 86400} d"
    if seconds >= 3600:
        hours = seconds / 3600
        return f"{hours:.0f} h" if hours == int(hours) else f"{hours:.1f} h"
    return f"{max(seconds, 0) // 60} min"


def _found(report: TriageReport, name: str, kind: type[E]) -> E | None:
    """What check `name` found, when it can be shown: it ran to the end (not error/skipped)."""
    check = report.check(name)
    return check.found(kind) if check else None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
