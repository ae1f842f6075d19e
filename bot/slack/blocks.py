"""The triage report as a Slack message: Block Kit blocks plus the plain `text` fallback.

Readable at a glance on a phone: the verdict in the header, then what supports it, who owns the job,
what to do, and where to look. Built with `slack_sdk.models.blocks` (which checks most limits in
`.to_dict()`), then checked again with `limits.check_blocks` (which also covers what slack_sdk does
not: the 50-block limit, the 2000-character field limit, empty texts).

Every limit is kept by cutting on purpose and saying so ("… 8 more executions not shown"); when the
whole message is too big, the least important sections go first and the header, the verdict, the
owners and the context line always stay.

Text from the job, the workload, Azure or people (summaries, names, callers, runbook steps) is escaped
for mrkdwn (`&`, `<`, `>`), so it can neither mention anyone nor forge a link. Owners are the one
exception: they arrive as Slack mentions and are passed through when they are user or user-group
mentions, escaped otherwise. The workload's console output (even normalised into signatures) only
appears with `allow_console_excerpts`; otherwise any quote of it in a summary is replaced.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot import exitcodes
from bot.model import NO_ROLLBACK_CAUSES, Cause, CheckResult, CheckStatus, TriageReport
from bot.respond.links import iso_interval, log_analytics_url, portal_url
from bot.slack.limits import (
    ACTION_ID_MAX,
    ACTIONS_ELEMENTS_MAX,
    BLOCKS_MAX,
    BUTTON_STYLES,
    BUTTON_TEXT_MAX,
    BUTTON_VALUE_MAX,
    HEADER_TEXT_MAX,
    MESSAGE_TEXT_MAX,
    SECTION_TEXT_MAX,
    TEXT_OBJECT_MAX,
    TRUNCATED,
    URL_MAX,
    check_blocks,
    truncate,
)

__all__ = ["MARKS", "ButtonSpec", "SlackMessage", "escape", "render_blocks", "render_progress"]

log = logging.getLogger(__name__)

MARKS: Mapping[CheckStatus, str] = {
    CheckStatus.OK: ":white_check_mark:",
    CheckStatus.WARN: ":warning:",
    CheckStatus.FAIL: ":x:",
    CheckStatus.ERROR: ":grey_question:",
    CheckStatus.SKIPPED: ":heavy_minus_sign:",
}
PENDING_MARK = ":hourglass_flowing_sand:"
_CAUSE_MARKS: Mapping[Cause, str] = {Cause.HEALTHY: ":large_green_circle:", Cause.UNKNOWN: ":white_circle:"}
_PROBLEM_MARK = ":red_circle:"
# Most urgent first: a reader on a phone sees what is wrong before what is fine.
_SEVERITY = {CheckStatus.FAIL: 0, CheckStatus.ERROR: 1, CheckStatus.WARN: 2, CheckStatus.OK: 3, CheckStatus.SKIPPED: 4}

HIDDEN_EXCERPT = "[console excerpt hidden]"
# Per-line caps (raw characters before escaping) keep one long item from eating a whole section.
_CHECK_SUMMARY_MAX = 280
_EXECUTION_LINE_MAX = 300
_STEP_MAX = 500
_EXCERPT_MAX = 300
_EXECUTIONS_SHOWN = 8
_EXIT_CODES_SHOWN = 5
_EXCERPTS_SHOWN = 5
_FALLBACK_TEXT_MAX = 3000  # one line for notifications; far below MESSAGE_TEXT_MAX
_MESSAGE_BUDGET = MESSAGE_TEXT_MAX - 4000  # all block text together, with room for the fallback text
_MIN_SCRUB = 8  # console signatures shorter than this are too generic to look for in prose
_SCRUB_PROBE = 20  # a quote must match this much of a signature's start (or all of it) to be replaced

# User mentions (<@U…>, <@W…>) and user-group mentions (<!subteam^S…>), optionally with a label.
_MENTION = re.compile(r"^<(?:@[UW][A-Z0-9]+|!subteam\^[A-Z0-9]+)(?:\|[^<>|]{0,100})?>$")


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """What `chat.postMessage` / `chat.update` / `respond()` take: `text` fallback and `blocks`."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


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


# --- public API ------------------------------------------------------------------------------------


def render_blocks(
    report: TriageReport,
    *,
    workspace_resource_id: str | None = None,
    query_texts: Mapping[str, str] | None = None,
    allow_console_excerpts: bool = False,
    actions: Sequence[ButtonSpec] = (),
) -> SlackMessage:
    """The triage report as one Slack message (at most 50 blocks, every limit kept).

    `query_texts` (query name -> the KQL text that ran) with `workspace_resource_id` (the workspace's ARM
    id) add a Log Analytics link per query; `actions` become buttons in one actions block.
    """
    # The report carries the queries it ran and the workspace they ran in; callers may override both.
    workspace_resource_id = workspace_resource_id or report.workspace_resource_id
    query_texts = query_texts if query_texts is not None else report.queries
    hide = () if allow_console_excerpts else _console_signatures(report.checks)
    scrub = _scrubber(hide)
    text = _fallback_text(report, scrub)
    parts = [
        _Part("header", _KEEP, [_header_block(report)]),
        _Part("verdict", _KEEP, [_verdict_block(report, scrub)]),
        _Part("change", 1, _change_blocks(report)),
        _Part("owners", _KEEP, [_owners_block(report)]),
        _Part("checks", 2, _checks_blocks(report.checks, scrub, divider=True)),
        _Part("evidence", 3, _evidence_blocks(report)),
        _Part("runbook", 4, _runbook_blocks(report)),
        _Part("links", 5, _links_blocks(report, workspace_resource_id, query_texts)),
        _Part("console excerpts", 6, _excerpt_blocks(report) if allow_console_excerpts else []),
        _Part("actions", 1, _actions_blocks(actions)),
    ]
    notes = []
    if len(actions) > ACTIONS_ELEMENTS_MAX:
        notes.append(f"… {len(actions) - ACTIONS_ELEMENTS_MAX} more actions not shown")
    if hide:
        notes.append("console excerpts hidden")
    blocks = _assemble(parts, context=lambda dropped: _context_block(report, [*notes, *dropped]), after="verdict")
    problems = check_blocks(blocks)
    if problems:  # cannot happen by construction; never post what Slack would refuse
        log.warning("triage message broke Slack limits, sending the short form: %s", "; ".join(problems))
        blocks = [_header_block(report), _verdict_block(report, scrub), _owners_block(report),
                  _context_block(report, ["details not shown: the full message broke a Slack limit"])]
    return SlackMessage(text=text, blocks=blocks)


def render_progress(job_name: str, done: Sequence[CheckResult], pending: Sequence[str]) -> SlackMessage:
    """The message that fills in as checks finish: finished checks with their marks, pending ones waiting.

    Console excerpts are always hidden here (there is no opt-in for a progress message).
    """
    scrub = _scrubber(_console_signatures(done))
    header = truncate(f"Checking {_one_line(job_name)} …", HEADER_TEXT_MAX)
    total = len(done) + len(pending)
    parts = [_Part("header", _KEEP, [_dict(HeaderBlock(block_id="jobbot.progress.header",
                                                       text=PlainTextObject(text=header, emoji=True)))])]
    if done:
        parts.append(_Part("done", 1, _checks_blocks(done, scrub, divider=False, sort=False)))
    if pending:
        lines = [f"{PENDING_MARK} {_fit(_one_line(name), 200)}" for name in pending]
        texts = _pack(lines, heading="*Still checking*", max_sections=2, more="pending checks")
        parts.append(_Part("pending", 2, [_section(t) for t in texts]))
    summary = f"{len(done)} of {total} checks done" if total else "starting checks"
    blocks = _assemble(parts, context=lambda dropped: _dict(ContextBlock(elements=[MarkdownTextObject(
        text=truncate(" · ".join([summary, *dropped]), TEXT_OBJECT_MAX), verbatim=True)])), after=None)
    text = _fit(f"Checking {_one_line(job_name)}: {summary}", _FALLBACK_TEXT_MAX, note=TRUNCATED)
    return SlackMessage(text=text, blocks=blocks)


def escape(text: str) -> str:
    """Escape text for Slack mrkdwn (and for a message's `text`): `&`, `<` and `>` only, as Slack asks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- assembling under the limits -------------------------------------------------------------------

_KEEP = 0  # priority of parts that are never dropped


@dataclass(slots=True)
class _Part:
    name: str
    priority: int  # 0 = keep always; higher numbers go first when space is short
    blocks: list[dict[str, Any]]


def _assemble(parts: list[_Part], *, context: Callable[[list[str]], dict[str, Any]],
              after: str | None) -> list[dict[str, Any]]:
    """Drop the least important parts until the blocks (plus the context block) fit; place the context
    block after the part named `after` (at the end when None), naming what was dropped."""
    kept = [p for p in parts if p.blocks]
    dropped: list[str] = []

    def size() -> tuple[int, int]:
        blocks = [b for p in kept for b in p.blocks]
        return len(blocks) + 1, sum(_text_len(b) for b in blocks) + TEXT_OBJECT_MAX

    while size()[0] > BLOCKS_MAX or size()[1] > _MESSAGE_BUDGET:
        candidates = [p for p in kept if p.priority != _KEEP]
        if not candidates:
            break
        victim = max(reversed(candidates), key=lambda p: p.priority)  # lowest priority, last placed first
        kept.remove(victim)
        dropped.append(victim.name)
    note = [f"not shown, the message would be too long: {', '.join(dropped)}"] if dropped else []
    out: list[dict[str, Any]] = []
    for part in kept:
        out += part.blocks
        if part.name == after:
            out.append(context(note))
    if after is None or all(p.name != after for p in kept):
        out.append(context(note))
    return out


def _text_len(block: Mapping[str, Any]) -> int:
    obj = block.get("text")
    total = len(obj.get("text") or "") if isinstance(obj, Mapping) else 0
    for key in ("fields", "elements"):
        for obj in block.get(key) or []:
            if isinstance(obj, Mapping) and isinstance(obj.get("text"), str):
                total += len(obj["text"])
    return total


def _pack(lines: Sequence[str], *, heading: str | None, max_sections: int, more: str, hidden: int = 0,
          tail: str = "", limit: int = SECTION_TEXT_MAX) -> list[str]:
    """Whole lines into at most `max_sections` texts of at most `limit` characters each. Lines that do not
    fit (plus `hidden` ones already left out by the caller) are counted in a closing note
    "… N more <more> not shown". Each line must fit in a section with the note (callers cap them)."""
    note_room = len(_more_note(10**9, more, tail)) + 1
    texts: list[list[str]] = [[heading]] if heading else [[]]
    shown = 0
    for line in lines:
        if len(line) > limit - note_room:  # callers cap their lines; this is the last resort
            line = _cut_line(line, limit - note_room)
        current = texts[-1]
        if _joined_len(current) + 1 + len(line) <= limit - note_room:
            current.append(line)
            shown += 1
        elif len(texts) < max_sections:
            texts.append([line])
            shown += 1
        else:
            break
    left = len(lines) - shown + max(0, hidden)
    if left:
        texts[-1].append(_more_note(left, more, tail))
    return ["\n".join(t) for t in texts if any(t)]


def _joined_len(lines: list[str]) -> int:
    return sum(len(line) for line in lines) + max(0, len(lines) - 1)


def _more_note(count: int, what: str, tail: str = "") -> str:
    return f"_… {count} more {what} not shown{tail}_"


# --- the parts -------------------------------------------------------------------------------------


def _header_block(report: TriageReport) -> dict[str, Any]:
    verdict = report.verdict
    mark = _CAUSE_MARKS.get(verdict.cause, _PROBLEM_MARK)
    suffix = f" — {verdict.cause.value} ({verdict.confidence.value})"
    room = HEADER_TEXT_MAX - len(mark) - 1 - len(suffix)
    text = f"{mark} {truncate(_one_line(report.job.name) or 'job', room)}{suffix}"
    return _dict(HeaderBlock(block_id="jobbot.header", text=PlainTextObject(text=text, emoji=True)))


def _verdict_block(report: TriageReport, scrub: Callable[[str], str]) -> dict[str, Any]:
    summary = scrub(_one_line(report.verdict.summary)) or "No summary."
    return _section(_fit(summary, SECTION_TEXT_MAX, note=TRUNCATED), block_id="jobbot.verdict")


def _change_blocks(report: TriageReport) -> list[dict[str, Any]]:
    verdict = report.verdict
    change, rollback = verdict.suspected_change, verdict.rollback_candidate
    lines = []
    if change is not None:
        lines.append(f":arrows_counterclockwise: *Suspected change:* {_fit(_one_line(change.what), 1000)}")
        detail = [_when(change.time)] if change.time else []
        if change.caller:
            detail.append(f"by {_fit(change.caller, 200)}")
        if change.operation:
            detail.append(_code(change.operation, 200))
        if detail:
            lines.append(" · ".join(detail))
    if rollback is not None and change is not None and verdict.cause not in NO_ROLLBACK_CAUSES:
        line = f":leftwards_arrow_with_hook: *Rollback candidate:* {_code(rollback.image, 500)}"
        extra = [f"last success {_when(rollback.last_success)}"] if rollback.last_success else []
        if rollback.execution:
            extra.append(f"execution {_code(rollback.execution, 200)}")
        lines.append(line + (f" ({', '.join(extra)})" if extra else ""))
    elif change is not None and verdict.cause in NO_ROLLBACK_CAUSES and verdict.cause is not Cause.HEALTHY:
        lines.append(f"_A rollback would not help: the cause ({verdict.cause.value}) lies outside the job._")
    if not lines:
        return []
    return [_section(truncate("\n".join(lines), SECTION_TEXT_MAX, note=TRUNCATED))]


def _owners_block(report: TriageReport) -> dict[str, Any]:
    owners = report.owners
    label = ":busts_in_silhouette: *Owners:*"
    if owners is None or (not owners.primary and not owners.escalation):
        return _section(f"{label} _unknown: no owner in the catalog or the job's tags_", block_id="jobbot.owners")
    text = f"{label} {_mention(owners.primary) if owners.primary else '_no primary owner_'}"
    if owners.escalation:
        text += " · escalation: "
        chain: list[str] = []
        for i, person in enumerate(owners.escalation):
            rest = len(owners.escalation) - i
            item = _mention(person)
            if len(text) + len(" → ".join([*chain, item])) + len(f" → … {rest} more") > SECTION_TEXT_MAX:
                chain.append(f"… {rest} more")
                break
            chain.append(item)
        text += " → ".join(chain)
    return _section(text, block_id="jobbot.owners")


def _context_block(report: TriageReport, notes: Sequence[str]) -> dict[str, Any]:
    window = report.window
    items = [f"Window {_when(window.start)} – {_when(window.end, time_only=True)} ({_human(window.length)})"]
    errored = [c.name for c in report.checks if c.status is CheckStatus.ERROR]
    missing = list(dict.fromkeys([*errored, *report.verdict.missing_evidence]))
    names = _fit(", ".join(_one_line(m) for m in missing), 1500)
    if not report.evidence_complete:
        items.append(f":warning: *evidence incomplete: could not check {names}*")
    elif missing:
        items.append(f"missing evidence: {names}")
    items += notes
    text = _fit_joined(items, TEXT_OBJECT_MAX)
    return _dict(ContextBlock(block_id="jobbot.context", elements=[MarkdownTextObject(text=text, verbatim=True)]))


def _checks_blocks(checks: Sequence[CheckResult], scrub: Callable[[str], str], *, divider: bool,
                   sort: bool = True) -> list[dict[str, Any]]:
    if not checks:
        return []
    ordered = sorted(checks, key=lambda c: _SEVERITY.get(c.status, 9)) if sort else list(checks)
    lines = [f"{MARKS.get(c.status, ':grey_question:')} *{_fit(_one_line(c.name), 60)}* "
             f"{_fit(scrub(_one_line(c.summary)), _CHECK_SUMMARY_MAX)}" for c in ordered]
    texts = _pack(lines, heading="*Checks*" if divider else None, max_sections=2, more="checks")
    return ([_dict(DividerBlock())] if divider else []) + [_section(t) for t in texts]


def _evidence_blocks(report: TriageReport) -> list[dict[str, Any]]:
    blocks = [_section(t) for t in _execution_texts(report)]
    tail = [t for t in (_exit_code_text(report), _queue_text(report)) if t]
    if tail:
        blocks.append(_section(truncate("\n\n".join(tail), SECTION_TEXT_MAX, note=TRUNCATED)))
    return blocks


def _execution_texts(report: TriageReport) -> list[str]:
    failures = _usable(report.check("failures"))
    if failures is None:
        return []
    executions = [e for e in _dicts(failures.data.get("executions"))
                  if str(e.get("status") or "") not in ("Succeeded", "Running", "Processing")]
    if not executions:
        return []
    failed_total = max(_int(failures.data.get("failed")) or 0, len(executions))
    total = _int(failures.data.get("total"))
    heading = f"*Failing executions* ({failed_total} of {total} in the window)" if total else "*Failing executions*"
    lines = [_execution_line(e) for e in executions[:_EXECUTIONS_SHOWN]]
    return _pack(lines, heading=heading, max_sections=1, more="failing executions",
                 hidden=failed_total - len(lines))


def _execution_line(execution: Mapping[str, Any]) -> str:
    parts = [f"{_code(str(execution.get('name') or '?'), 80)} {escape(_one_line(str(execution.get('status') or '?')))}"]
    if execution.get("start"):
        parts.append(_when(execution.get("start")))
    codes = [c for c in (_int(c) for c in execution.get("exit_codes") or []) if c is not None]
    if codes:
        parts.append("exit " + ", ".join(f"*{c}*" for c in codes))
    reasons = [str(r) for r in execution.get("reasons") or [] if r] or (
        [str(execution["reason"])] if execution.get("reason") else [])
    if reasons:
        parts.append(escape(_one_line(", ".join(reasons[:3]))))
    attempts = _int(execution.get("attempts"))
    if attempts and attempts > 1:
        parts.append(f"{attempts} attempts")
    if execution.get("image"):
        parts.append(_code(str(execution["image"]).rsplit("/", 1)[-1], 100))
    return _cut_line("• " + " · ".join(parts), _EXECUTION_LINE_MAX)


def _exit_code_text(report: TriageReport) -> str | None:
    """Each non-zero exit code seen, with its meaning (from the exit_codes check, else explained here)."""
    codes: dict[int, str] = {}
    exit_check = _usable(report.check("exit_codes"))
    for entry in _dicts(exit_check.data.get("codes")) if exit_check else []:
        code = _int(entry.get("code"))
        if code is None or code == 0:
            continue
        meaning = str(entry.get("meaning") or exitcodes.explain(code))
        count = _int(entry.get("executions"))
        codes[code] = f"• *{code}*" + (f" in {count} executions" if count else "") + f": {escape(_one_line(meaning))}"
    failures = _usable(report.check("failures"))
    for execution in _dicts(failures.data.get("executions")) if failures else []:
        for raw in execution.get("exit_codes") or []:
            code = _int(raw)
            if code is not None and code != 0 and code not in codes:
                codes[code] = f"• *{code}*: {escape(exitcodes.explain(code))}"
    if not codes:
        return None
    lines = [_cut_line(line, 400) for line in list(codes.values())[:_EXIT_CODES_SHOWN]]
    return _pack(lines, heading="*Exit codes*", max_sections=1, more="exit codes", limit=1800,
                 hidden=len(codes) - len(lines))[0]


def _queue_text(report: TriageReport) -> str | None:
    queue = _usable(report.check("queue_depth"))
    if queue is None:
        return None
    data = queue.data
    depth = _int(data.get("depth"))
    if depth is None:
        return None
    where = "/".join(str(data[k]) for k in ("namespace", "entity") if data.get(k))
    target, max_exec, capacity = (_int(data.get(k)) for k in ("target_per_execution", "max_executions", "capacity"))
    line = f":inbox_tray: *Queue*{' ' + _code(where, 300) if where else ''}: *{depth}* messages waiting"
    if capacity:
        line += f" vs *{capacity}* per round"
        if target and max_exec:
            line += f" (scale target {target} per execution × maxExecutions {max_exec})"
        if depth > capacity:
            line += f", {depth / capacity:.1f}× that"
    running = _int(data.get("running"))
    if running is not None:
        line += f" · {running} running"
    dead = _int(data.get("dead_letter"))
    if dead:
        line += f" · {dead} dead-lettered"
    return _cut_line(line, 1000)


def _runbook_blocks(report: TriageReport) -> list[dict[str, Any]]:
    runbook = report.runbook
    if runbook is None or not runbook.steps:
        return []
    heading = f":clipboard: *Runbook: {_fit(_one_line(runbook.title) or runbook.id, 150)}*"
    lines = [f"{i}. {_fit(_one_line(step), _STEP_MAX)}" for i, step in enumerate(runbook.steps, 1)]
    texts = _pack(lines, heading=heading, max_sections=2, more="steps", tail=f" (runbook {_fit(runbook.id, 60)})")
    return [_dict(DividerBlock()), *(_section(t) for t in texts)]


def _links_blocks(report: TriageReport, workspace_resource_id: str | None,
                  query_texts: Mapping[str, str] | None) -> list[dict[str, Any]]:
    lines = []
    if report.job.id.strip():
        lines.append(_link_line(portal_url(report.job.id), "Job in the Azure portal", "resource id too long to link"))
    if workspace_resource_id and query_texts:
        timespan = iso_interval(report.window.start, report.window.end)
        for name, query in query_texts.items():
            url = log_analytics_url(workspace_resource_id, query, timespan=timespan)
            lines.append(_link_line(url, f"Logs: {_one_line(name)}", "query too long to link"))
    if not lines:
        return []
    texts = _pack(lines, heading=":link: *Links*", max_sections=2, more="links")
    return [_section(t) for t in texts]


def _link_line(url: str | None, label: str, why_not: str) -> str:
    """A bullet with the link, or with the label and why there is no link (a link is never cut)."""
    line = f"• {_link(url, label[:100])}" if url and len(url) <= URL_MAX else ""
    if not line or len(line) > SECTION_TEXT_MAX - 100:
        line = f"• {_fit(label, 100)} _({why_not})_"
    return line


def _excerpt_blocks(report: TriageReport) -> list[dict[str, Any]]:
    console = _usable(report.check("console_errors"))
    signatures = _dicts(console.data.get("signatures")) if console else []
    if not signatures:
        return []
    lines = []
    for sig in signatures[:_EXCERPTS_SHOWN]:
        what = ", ".join(x for x in (str(sig.get("kind") or ""), _count(sig.get("executions"), "execution")) if x)
        lines.append(_cut_line(f"• {escape(what)}: {_code(str(sig.get('signature') or ''), _EXCERPT_MAX)}", 500))
    return [_section(t) for t in _pack(lines, heading="*Console errors* (normalised excerpts)", max_sections=1,
                                       more="error signatures", hidden=len(signatures) - len(lines))]


def _actions_blocks(actions: Sequence[ButtonSpec]) -> list[dict[str, Any]]:
    if not actions:
        return []
    buttons = [
        ButtonElement(text=PlainTextObject(text=truncate(_one_line(a.text), BUTTON_TEXT_MAX), emoji=True),
                      action_id=a.action_id, value=a.value, style=a.style, url=a.url)
        for a in actions[:ACTIONS_ELEMENTS_MAX]
    ]
    return [_dict(ActionsBlock(block_id="jobbot.actions", elements=buttons))]


def _fallback_text(report: TriageReport, scrub: Callable[[str], str]) -> str:
    verdict = report.verdict
    line = (f"{_one_line(report.job.name)}: {verdict.cause.value} ({verdict.confidence.value} confidence)"
            f" — {scrub(_one_line(verdict.summary))}")
    if not report.evidence_complete:
        line += " (evidence incomplete)"
    return _fit(line, _FALLBACK_TEXT_MAX, note=TRUNCATED)


# --- console excerpts ------------------------------------------------------------------------------


def _console_signatures(checks: Iterable[CheckResult]) -> tuple[str, ...]:
    found = []
    for check in checks:
        if check.name == "console_errors":
            found += [_one_line(str(s.get("signature") or "")) for s in _dicts(check.data.get("signatures"))]
    return tuple(s for s in dict.fromkeys(found) if len(s) >= _MIN_SCRUB)


def _scrubber(signatures: Sequence[str]) -> Callable[[str], str]:
    """Replace any quote of a console signature in a (one-line) text: the whole signature, or its start cut
    to any length of at least `_SCRUB_PROBE` characters, as the summaries quote them."""
    ordered = sorted(signatures, key=len, reverse=True)

    def scrub(text: str) -> str:
        for sig in ordered:
            probe = sig[:_SCRUB_PROBE]
            start = text.find(probe)
            while start != -1:
                end = start + len(probe)
                while end < len(text) and end - start < len(sig) and text[end] == sig[end - start]:
                    end += 1
                text = text[:start] + HIDDEN_EXCERPT + text[end:]
                start = text.find(probe, start + len(HIDDEN_EXCERPT))
        return text

    return scrub if ordered else (lambda text: text)


# --- small helpers ---------------------------------------------------------------------------------


def _dict(block: Block) -> dict[str, Any]:
    built: dict[str, Any] = block.to_dict()  # slack_sdk validates its limits here
    return built


def _section(text: str, *, block_id: str | None = None) -> dict[str, Any]:
    return _dict(SectionBlock(block_id=block_id, text=MarkdownTextObject(text=text, verbatim=True)))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _fit(raw: str, limit: int, *, note: str = "…") -> str:
    """`raw` escaped for mrkdwn in at most `limit` characters, cut before escaping (never inside `&amp;`)."""
    escaped = escape(raw)
    if len(escaped) <= limit:
        return escaped
    budget = limit - len(note)
    out: list[str] = []
    used = 0
    for char in raw:
        piece = escape(char)
        if used + len(piece) > budget:
            break
        out.append(piece)
        used += len(piece)
    return ("".join(out).rstrip() + note)[:limit]


def _fit_joined(items: Sequence[str], limit: int, sep: str = " · ") -> str:
    """Already-formatted items joined; items that do not fit are counted instead of cut mid-markup."""
    kept: list[str] = []
    for i, item in enumerate(items):
        after = len(items) - i - 1
        reserve = len(f"{sep}… {after} more notes") if after else 0
        if len(sep.join([*kept, item])) + reserve > limit:
            return sep.join([*kept, f"… {len(items) - i} more notes"])
        kept.append(item)
    return sep.join(kept)


def _cut_line(line: str, limit: int) -> str:
    """A formatted line cut to `limit`, not inside a `<…>` token, an entity or a `code` span."""
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    for opener, closer in (("<", ">"), ("&", ";")):
        last_open = cut.rfind(opener)
        if last_open > cut.rfind(closer):
            cut = cut[:last_open]
    if cut.count("`") % 2:
        cut = cut[: cut.rfind("`")]
    return cut.rstrip() + "…"


def _code(raw: str, limit: int) -> str:
    text = _fit(_one_line(raw).replace("`", "'"), limit - 2)
    return f"`{text}`" if text else ""


def _link(url: str | None, label: str) -> str:
    if not url:
        return escape(label)
    safe_label = escape(label.replace("|", "/"))
    # Our URLs are percent-encoded already; & is escaped as Slack asks, | and the brackets cannot occur.
    target = url.replace("&", "&amp;").replace("|", "%7C").replace("<", "%3C").replace(">", "%3E")
    return f"<{target}|{safe_label}>"


def _mention(value: str) -> str:
    value = value.strip()
    return value if _MENTION.match(value) else _fit(value, 200)


def _when(value: Any, *, time_only: bool = False) -> str:
    """A moment as Slack's date token (shown in the reader's time zone) with a UTC fallback text."""
    moment = _parse_time(value)
    if moment is None:
        return escape(str(value)) if value else "?"
    fallback = moment.strftime("%H:%M UTC" if time_only else "%Y-%m-%d %H:%M UTC")
    fmt = "{time}" if time_only else "{date_short_pretty} {time}"
    return f"<!date^{int(moment.timestamp())}^{fmt}|{fallback}>"


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _human(length: timedelta) -> str:
    seconds = int(length.total_seconds())
    if seconds >= 86400 and seconds % 86400 == 0:
        return f"{seconds // 86400} d"
    if seconds >= 3600:
        hours = seconds / 3600
        return f"{hours:.0f} h" if hours == int(hours) else f"{hours:.1f} h"
    return f"{max(seconds, 0) // 60} min"


def _usable(check: CheckResult | None) -> CheckResult | None:
    """A check whose data can be shown: it ran (not error/skipped)."""
    if check is None or check.status in (CheckStatus.ERROR, CheckStatus.SKIPPED):
        return None
    return check


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list | tuple) else []


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _count(value: Any, noun: str) -> str:
    n = _int(value)
    return "" if n is None else f"{n} {noun}{'' if n == 1 else 's'}"
