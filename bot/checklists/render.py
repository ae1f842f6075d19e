"""The checklist as Slack sees it: one Block Kit message rebuilt from stored state, its thread posts, and
the skip-reason modal.

Nothing here decides anything: every message is a function of a `Checklist` (docs/style.md rule 12), so
after a restart the same state renders the same message. Buttons carry ids only ("<checklist>/<step>").
Text from Azure or people (images, names, reasons, evidence) is escaped; only owner mentions that are
real user or user-group mentions pass through.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.checklists import timeline
from bot.checklists.actions import ActionId, StepRef, ViewId
from bot.checklists.model import BOT, Check, Checklist, FindingState, Recheck, Step, StepKind, StepStatus
from bot.slack.blocks import SlackMessage, escape
from bot.slack.kit import block_dict, section
from bot.slack.limits import BLOCKS_MAX, HEADER_TEXT_MAX, SECTION_TEXT_MAX, TEXT_OBJECT_MAX, check_blocks, truncate
from bot.slack.mrkdwn import fit, mention, one_line, when

REASON_BLOCK = "reason"
REASON_ACTION = "reason"
_STATUS_MARKS = {StepStatus.OPEN: ":white_large_square:", StepStatus.DONE: ":white_check_mark:",
                 StepStatus.SKIPPED: ":fast_forward:"}
_FINDING_MARKS = {FindingState.PASS: ":white_check_mark:", FindingState.FAIL: ":x:",
                  FindingState.WAITING: ":hourglass_flowing_sand:", FindingState.UNKNOWN: ":grey_question:",
                  FindingState.NOT_APPLICABLE: ":heavy_minus_sign:"}
COMMANDS_SHOWN = 4
_SECTION_ROOM = SECTION_TEXT_MAX - 100  # slack for the closing fence a cut may need
_DETAIL_LIMITS = (1200, 600, 200, 0)  # shrink a step's prose before anything else when it is too long


# --- the checklist message ---------------------------------------------------------------------------


def render_checklist(checklist: Checklist, *, interactive: bool = True) -> SlackMessage:
    """The message: header, summary, one section per step (plus its buttons while the checklist is open)."""
    c = checklist
    buttons = interactive and c.is_open
    mark = ":leftwards_arrow_with_hook:" if c.is_open else ":white_check_mark:"
    suffix = "" if c.is_open else " (closed)"
    header = truncate(f"{mark} Rollback checklist: {one_line(c.job.name)}{suffix}", HEADER_TEXT_MAX)
    blocks: list[dict[str, Any]] = [
        block_dict(HeaderBlock(block_id="checklist.header", text=PlainTextObject(text=header, emoji=True))),
        section(_summary(c), block_id="checklist.summary"),
        block_dict(DividerBlock(block_id="checklist.divider")),
    ]
    # What jobbot already did comes first, unnumbered; the team's steps are numbered from 1.
    number = 0
    for step in c.steps:
        if not step.prefilled:
            number += 1
        blocks.append(section(step_text(c, step, number), block_id=f"checklist.{step.kind.value}"))
        elements = _buttons(c, step) if buttons else []
        if elements:
            blocks.append(block_dict(ActionsBlock(block_id=f"checklist.{step.kind.value}.actions",
                                                  elements=elements)))
    blocks.append(_context(c))
    problems = check_blocks(blocks)
    if len(blocks) > BLOCKS_MAX or problems:  # cannot happen with at most 12 steps; never send what Slack refuses
        blocks = [blocks[0], blocks[1], section("_The steps do not fit in one message; "
                                                 f"`/jobbot checklist {escape(c.job.name)}` lists them._")]
    return SlackMessage(text=_fallback(c), blocks=blocks)


def step_text(checklist: Checklist, step: Step, number: int) -> str:
    """A step's section: title, what to do, copyable commands, owners, and who did it when."""
    for limit in _DETAIL_LIMITS:
        text = _step_text(checklist, step, number, limit)
        if len(text) <= _SECTION_ROOM:
            return text
    return truncate(text, _SECTION_ROOM)  # pragma: no cover - commands and evidence are capped below


def _step_text(checklist: Checklist, step: Step, number: int, detail_limit: int) -> str:
    if step.prefilled:
        return _bot_step_text(checklist, step, detail_limit)
    flags = ""
    if step.needs_approval:
        flags += "  :lock: _needs an owner's approval_"
    if step.kind is StepKind.VERIFY:
        flags += "  :robot_face: _ticked by jobbot's checks_"
    lines = [f"{_STATUS_MARKS[step.status]} *{number}. {escape(step.title)}*{flags}"]
    if detail_limit and step.detail:
        lines.append(fit(step.detail, detail_limit))
    lines += _commands(step, checklist.job.name)
    if step.mentions:
        lines.append(" ".join(mention(m, 100) for m in step.mentions[:10]))
    status = _status(step)
    if status:
        lines.append(status)
    if step.check is not None:
        lines.append(_check_text(step.check, step))
    return "\n".join(lines)


def _bot_step_text(checklist: Checklist, step: Step, detail_limit: int) -> str:
    """A step jobbot completed itself: its evidence first, the details under it (no buttons: not undoable)."""
    lines = [f"{_STATUS_MARKS[step.status]} *jobbot* — {fit(step.evidence or step.title, 600)}"]
    if detail_limit and step.detail:
        lines.append(fit(step.detail, detail_limit))
    lines += _commands(step, checklist.job.name)
    return "\n".join(lines)


def _commands(step: Step, job: str) -> list[str]:
    lines = [f"```{fit(command, 700)}```" for command in step.commands[:COMMANDS_SHOWN]]
    hidden = len(step.commands) - COMMANDS_SHOWN
    if hidden > 0:  # a message has room for a few; the terminal report prints every revert command
        lines.append(f"_+{hidden} more commands not shown here: `jobbot triage {escape(job)}` in a terminal prints "
                     "every one_")
    return lines


def _status(step: Step) -> str:
    if step.status is StepStatus.DONE:
        who = "jobbot" if step.by == BOT else _user(step.by)
        verb = "Verified by" if step.by == BOT else "Done by"
        return f"_{verb} {who}{_at(step.at)}_"
    if step.status is StepStatus.SKIPPED:
        return f"_Skipped by {_user(step.by)}{_at(step.at)}: {fit(step.reason or '', 400)}_"
    return ""


def _check_text(check: Check, step: Step) -> str:
    verdict = "passed" if check.passed else ("not yet" if step.status is StepStatus.OPEN else "not passed")
    lines = [f"*Last check {when(check.at)}: {verdict}*"]
    lines += [f"{_FINDING_MARKS[f.state]} {fit(f.evidence, 320)}" for f in check.findings[:5]]
    return "\n".join(lines)


def _summary(c: Checklist) -> str:
    target = c.target
    extra = [f"last succeeded {when(target.last_success)}"] if target.last_success else []
    if target.execution:
        extra.append(f"execution `{fit(target.execution, 120)}`")
    if target.image:
        head = (f"*Target:* `{fit(target.image, 400)}`" + (f" ({', '.join(extra)})" if extra else "")
                + (f" · today `{fit(target.current_image, 400)}`" if target.current_image else ""))
    else:
        head = f"*Revert:* {_revert_lines(c)} · the image stays"
    lines = [head, f"*Why:* `{c.cause.value}`: {fit(one_line(c.summary), 700)}"]
    lead = _user(c.lead) if c.lead else "_nobody yet_"
    owners = " ".join(mention(m, 100) for m in c.approvers[:10]) or "_none known_"
    lines.append(f"*Lead:* {lead} · *Owners (approve :lock: steps):* {owners}")
    team = c.team_steps
    by_bot = len(c.steps) - len(team)
    progress = (f"*Progress:* {sum(1 for s in team if s.settled)} of {len(team)} steps done or skipped"
                + (f" · {by_bot} done by jobbot" if by_bot else ""))
    if c.rechecks:
        progress += " · *Re-checks:* " + ", ".join(
            f"+{r.after_min} min {':white_check_mark:' if r.recovered else ':x:'}" for r in c.rechecks)
    lines.append(progress)
    return "\n".join(lines)


def _revert_lines(c: Checklist) -> str:
    """The change to undo and its properties (the plan cut them at 5, then "+N more"; secrets never shown)."""
    what, *lines = c.target.diff or ("the suspected change",)
    shown = [line if line.startswith("+") else f"`{fit(line, 200)}`" for line in lines]
    return fit(what, 300) + (f" ({', '.join(shown)})" if shown else "")


def _context(c: Checklist) -> dict[str, Any]:
    parts = [f"Checklist `{c.id[:8]}` opened by {_user(c.opened_by)} {when(c.opened_at)}"]
    if c.closed_at:
        parts.append(f"closed by {_user(c.closed_by)} {when(c.closed_at)}; the timeline is in the thread")
    else:
        parts.append(f"`/jobbot checklist {escape(c.job.name)}` shows it again")
    parts.append("jobbot only reads Azure: people run the commands, jobbot checks the result")
    text = truncate(" · ".join(parts), TEXT_OBJECT_MAX)
    return block_dict(ContextBlock(block_id="checklist.context",
                                   elements=[MarkdownTextObject(text=text, verbatim=True)]))


def _buttons(c: Checklist, step: Step) -> list[ButtonElement]:
    value = StepRef(c.id, step.kind.value).value()

    def button(text: str, action: ActionId, style: str | None = None) -> ButtonElement:
        return ButtonElement(text=PlainTextObject(text=text, emoji=True), action_id=action.value, value=value,
                             style=style)

    if step.kind is StepKind.CLOSE:
        return [button("Close checklist", ActionId.CLOSE, "primary")]
    found: list[ButtonElement] = []
    if step.kind is StepKind.VERIFY:
        found.append(button("Check now", ActionId.CHECK, None if step.settled else "primary"))
    if step.prefilled:
        return found  # jobbot's own record: nothing to undo
    if step.settled:
        return [*found, button("Undo", ActionId.UNDO)]
    if step.kind is StepKind.LEAD:
        return [button("Go — I'll lead", ActionId.DONE, "primary"), button("No-go…", ActionId.SKIP, "danger")]
    if step.kind is not StepKind.VERIFY:
        found.append(button("Done (owner)" if step.needs_approval else "Done", ActionId.DONE, "primary"))
    return [*found, button("Skip…", ActionId.SKIP)]


def _fallback(c: Checklist) -> str:
    state = "closed" if not c.is_open else f"{c.settled_count} of {len(c.steps)} steps done or skipped"
    return truncate(f"Rollback checklist for {c.job.name} → {c.what}: {state}", 3000)


# --- thread posts ----------------------------------------------------------------------------------------


def render_snapshot(lines: Sequence[str]) -> SlackMessage:
    """The configuration snapshot (first line is its title) as thread sections."""
    title, body = (lines[0], lines[1:]) if lines else ("Snapshot", [])
    texts = _pack([fit(line, 600) for line in body], heading=f":camera: *{fit(title, 400)}*")
    return SlackMessage(text=truncate(title, 3000), blocks=[section(t) for t in texts])


def render_recheck(checklist: Checklist, recheck: Recheck, check: Check) -> SlackMessage:
    if recheck.recovered:
        head = f":white_check_mark: *Re-check +{recheck.after_min} min after the rollback: recovered.*"
    else:
        lead = f" {_user(checklist.lead)}" if checklist.lead else ""
        head = f":x: *Re-check +{recheck.after_min} min after the rollback: not recovered.*{lead}"
    lines = [head, *(f"{_FINDING_MARKS[f.state]} {fit(f.evidence, 400)}" for f in check.findings)]
    text = f"Re-check +{recheck.after_min} min: {'recovered' if recheck.recovered else 'not recovered'}"
    return SlackMessage(text=text, blocks=[section("\n".join(lines))])


def render_timeline(checklist: Checklist, markdown: str) -> SlackMessage:
    """Who did what, when, readable in the thread; then the same as Markdown, ready to copy."""
    rows = [f"`{r.at.astimezone(UTC):%H:%M:%S}` {'jobbot' if r.actor == BOT else _user(r.actor)} "
            f"{fit(r.what, 500)}" for r in timeline.rows(checklist)]
    texts = _pack(rows, heading=f":scroll: *Timeline of the rollback of {escape(checklist.job.name)}* (UTC)",
                  max_sections=20)
    chunks = _chunks(escape(markdown), SECTION_TEXT_MAX - 10)[: BLOCKS_MAX - len(texts) - 2]
    blocks = [section(t) for t in texts]
    blocks.append(section("*Markdown for the post-incident review* (copy it into the review document):"))
    blocks += [section(f"```{chunk}```") for chunk in chunks]
    return SlackMessage(text=f"Timeline of the rollback of {checklist.job.name}", blocks=blocks)


# --- the skip modal --------------------------------------------------------------------------------------


def skip_modal(checklist: Checklist, step: Step) -> dict[str, Any]:
    """Asks why a step is skipped; private_metadata carries the ids, as a button value does."""
    view = View(
        type="modal",
        callback_id=ViewId.SKIP_REASON.value,
        private_metadata=StepRef(checklist.id, step.kind.value).value(),
        title=PlainTextObject(text="Skip a step"),
        submit=PlainTextObject(text="Skip it"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=truncate(
                (f"No-go for the rollback of *{escape(checklist.job.name)}*: say why. " if step.kind is StepKind.LEAD
                 else f"Skip *{escape(step.title)}* in the rollback of *{escape(checklist.job.name)}*. ")
                + "The reason goes into the timeline for the post-incident review.", SECTION_TEXT_MAX))),
            InputBlock(block_id=REASON_BLOCK, label=PlainTextObject(text="Why is it skipped?"),
                       element=PlainTextInputElement(action_id=REASON_ACTION, multiline=True, min_length=3,
                                                     max_length=500)),
        ],
    )
    built: dict[str, Any] = view.to_dict()
    return built


def skip_reason(view: dict[str, Any]) -> str:
    """The reason typed into the skip modal ('' when absent)."""
    values = ((view.get("state") or {}).get("values") or {}).get(REASON_BLOCK) or {}
    return str((values.get(REASON_ACTION) or {}).get("value") or "")


# --- helpers ---------------------------------------------------------------------------------------------


def _pack(lines: Sequence[str], *, heading: str, max_sections: int = 8) -> list[str]:
    texts: list[list[str]] = [[heading]]
    for index, line in enumerate(lines):
        current = texts[-1]
        if sum(len(x) + 1 for x in current) + len(line) <= _SECTION_ROOM:
            current.append(line)
        elif len(texts) < max_sections:
            texts.append([line])
        else:
            current.append(f"_… {len(lines) - index} more lines not shown_")
            break
    return ["\n".join(t) for t in texts]


def _chunks(text: str, size: int) -> list[str]:
    """Cut at line ends where possible, never inside an escaped entity."""
    out: list[str] = []
    while text:
        if len(text) <= size:
            out.append(text)
            break
        cut = text.rfind("\n", 0, size)
        if cut <= 0:
            cut = size
            amp = text.rfind("&", 0, cut)
            if amp != -1 and ";" not in text[amp:cut]:
                cut = amp
        out.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return out







def _user(user: str | None) -> str:
    if not user:
        return "someone"
    return "jobbot" if user == BOT else f"<@{escape(user)}>"


def _at(moment: datetime | None) -> str:
    return f" {when(moment)}" if moment else ""

