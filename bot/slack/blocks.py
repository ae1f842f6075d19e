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

Here: the public API and what spans the whole message (the fallback text, hiding console quotes).
The parts are built in `sections`, fitted into the limits in `packing`, and their text shaped for
mrkdwn in `mrkdwn`; `MARKS`, `ButtonSpec` and `escape` are re-exported from there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import ContextBlock, HeaderBlock, MarkdownTextObject, PlainTextObject

from bot.evidence.payloads import ConsoleEvidence
from bot.model import CheckResult, TriageReport
from bot.slack.kit import block_dict, section
from bot.slack.limits import ACTIONS_ELEMENTS_MAX, HEADER_TEXT_MAX, TEXT_OBJECT_MAX, TRUNCATED, check_blocks, truncate
from bot.slack.mrkdwn import escape, fit, one_line
from bot.slack.packing import KEEP, Part, assemble, pack
from bot.slack.sections import (
    MARKS,
    ButtonSpec,
    actions_blocks,
    change_blocks,
    checks_blocks,
    context_block,
    evidence_blocks,
    excerpt_blocks,
    header_block,
    links_blocks,
    next_step_blocks,
    owners_block,
    runbook_blocks,
    verdict_block,
)

__all__ = ["MARKS", "ButtonSpec", "SlackMessage", "escape", "render_blocks", "render_progress"]

log = logging.getLogger(__name__)

PENDING_MARK = ":hourglass_flowing_sand:"

HIDDEN_EXCERPT = "[console excerpt hidden]"
_FALLBACK_TEXT_MAX = 3000  # one line for notifications; far below MESSAGE_TEXT_MAX
_MIN_SCRUB = 8  # console signatures shorter than this are too generic to look for in prose
_SCRUB_PROBE = 20  # a quote must match this much of a signature's start (or all of it) to be replaced


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """What `chat.postMessage` / `chat.update` / `respond()` take: `text` fallback and `blocks`."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


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
    # In the order a responder reads: verdict, next step and owner, what changed, what could not be checked
    # (the context block), the buttons; then the details (checks, evidence, runbook, links).
    parts = [
        Part("header", KEEP, [header_block(report)]),
        Part("verdict", KEEP, [verdict_block(report, scrub)]),
        Part("next", KEEP, next_step_blocks(report, scrub)),
        Part("owners", KEEP, [owners_block(report)]),
        Part("change", 1, change_blocks(report)),
        Part("actions", 1, actions_blocks(actions)),
        Part("checks", 2, checks_blocks(report.checks, scrub, divider=True)),
        Part("evidence", 3, evidence_blocks(report)),
        Part("runbook", 4, runbook_blocks(report)),
        Part("links", 5, links_blocks(report, workspace_resource_id, query_texts)),
        Part("console excerpts", 6, excerpt_blocks(report) if allow_console_excerpts else []),
    ]
    notes = []
    if len(actions) > ACTIONS_ELEMENTS_MAX:
        notes.append(f"… {len(actions) - ACTIONS_ELEMENTS_MAX} more actions not shown")
    if hide:
        notes.append("console excerpts hidden")
    blocks = assemble(parts, context=lambda dropped: context_block(report, [*notes, *dropped]),
                      after=("verdict", "next", "owners", "change"))
    problems = check_blocks(blocks)
    if problems:  # cannot happen by construction; never post what Slack would refuse
        log.warning("triage message broke Slack limits, sending the short form: %s", "; ".join(problems))
        blocks = [header_block(report), verdict_block(report, scrub), owners_block(report),
                  context_block(report, ["details not shown: the full message broke a Slack limit"])]
    return SlackMessage(text=text, blocks=blocks)


def render_progress(job_name: str, done: Sequence[CheckResult], pending: Sequence[str]) -> SlackMessage:
    """The message that fills in as checks finish: finished checks with their marks, pending ones waiting.

    Console excerpts are always hidden here (there is no opt-in for a progress message).
    """
    scrub = _scrubber(_console_signatures(done))
    header = truncate(f"Checking {one_line(job_name)} …", HEADER_TEXT_MAX)
    total = len(done) + len(pending)
    title = block_dict(HeaderBlock(block_id="jobbot.progress.header", text=PlainTextObject(text=header, emoji=True)))
    parts = [Part("header", KEEP, [title])]
    if done:
        parts.append(Part("done", 1, checks_blocks(done, scrub, divider=False, sort=False)))
    if pending:
        lines = [f"{PENDING_MARK} {fit(one_line(name), 200)}" for name in pending]
        texts = pack(lines, heading="*Still checking*", max_sections=2, more="pending checks")
        parts.append(Part("pending", 2, [section(t) for t in texts]))
    summary = f"{len(done)} of {total} checks done" if total else "starting checks"
    blocks = assemble(parts, context=lambda dropped: block_dict(ContextBlock(elements=[MarkdownTextObject(
        text=truncate(" · ".join([summary, *dropped]), TEXT_OBJECT_MAX), verbatim=True)])), after=None)
    text = fit(f"Checking {one_line(job_name)}: {summary}", _FALLBACK_TEXT_MAX, note=TRUNCATED)
    return SlackMessage(text=text, blocks=blocks)


def _fallback_text(report: TriageReport, scrub: Callable[[str], str]) -> str:
    verdict = report.verdict
    line = (f"{one_line(report.job.name)}: {verdict.cause.value} ({verdict.confidence.value} confidence)"
            f" — {scrub(one_line(verdict.summary))}")
    if not report.evidence_complete:
        line += " (evidence incomplete)"
    return fit(line, _FALLBACK_TEXT_MAX, note=TRUNCATED)


# --- console excerpts ------------------------------------------------------------------------------


def _console_signatures(checks: Iterable[CheckResult]) -> tuple[str, ...]:
    found = []
    for check in checks:
        # Whatever the status: a partial answer still quotes console lines that must stay hidden.
        if check.name == "console_errors" and isinstance(check.evidence, ConsoleEvidence):
            found += [one_line(s.signature) for s in check.evidence.signatures]
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


# tests/test_blocks.py drives the packing directly, under the names it had when it lived here.
_Part = Part
_assemble = assemble
