"""The review as a Slack message (review.md §3): a header with the counts, the five pillar scores as fields,
up to 8 findings worst first (each with one evidence line and its read-only `az` command), and a context line
naming the rules that could not be evaluated and those that do not apply; once approved, who approved it,
when and the report's hash; then the buttons the caller hands in (one actions row: *Full report*,
*Approve change*, room for more).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from slack_sdk.models.blocks import ContextBlock, HeaderBlock, MarkdownTextObject, PlainTextObject, SectionBlock

from bot.review.approval import Approval
from bot.review.findings import Finding, ReviewReport, Status
from bot.review.render import headline, worst_first
from bot.slack.blocks import ButtonSpec, SlackMessage
from bot.slack.kit import block_dict, section
from bot.slack.limits import HEADER_TEXT_MAX, SECTION_FIELD_MAX, TEXT_OBJECT_MAX, check_blocks, truncate
from bot.slack.mrkdwn import escape, mention, one_line
from bot.slack.sections import actions_blocks

log = logging.getLogger(__name__)
MAX_FINDINGS = 8
MARKS = {Status.FAIL: ":x:", Status.WARN: ":warning:", Status.ERROR: ":grey_question:",
         Status.SKIPPED: ":heavy_minus_sign:", Status.OK: ":white_check_mark:"}
_EVIDENCE_MAX = 300


def render_review_blocks(report: ReviewReport, *, actions: Sequence[ButtonSpec] = (),
                         approval: Approval | None = None) -> SlackMessage:
    title = headline(report)
    blocks: list[dict[str, Any]] = [
        block_dict(HeaderBlock(text=PlainTextObject(text=truncate(title, HEADER_TEXT_MAX)))),
        block_dict(SectionBlock(fields=[MarkdownTextObject(text=truncate(
            f"*{p.value.capitalize()}*\n{'n/a' if s.score is None else s.score} ({s.evaluated}/{s.total})",
            SECTION_FIELD_MAX)) for p, s in report.scores.items()])),
    ]
    shown = [f for f in worst_first(report.findings) if f.status in (Status.FAIL, Status.WARN)][:MAX_FINDINGS]
    blocks += [section(truncate(_finding_text(f), TEXT_OBJECT_MAX)) for f in shown]
    if not shown:
        blocks.append(section(":white_check_mark: No rule failed or warned."))
    blocks.append(_context(report, len(shown), full_report=bool(actions)))
    tail = ([approval_block(approval)] if approval is not None else []) + actions_blocks(actions)
    problems = check_blocks([*blocks, *tail])
    if problems:  # cannot happen by construction; never post what Slack would refuse
        log.warning("review message broke Slack limits, sending the short form: %s", "; ".join(problems))
        blocks = [*blocks[:2], blocks[-1]]
    return SlackMessage(text=title, blocks=[*blocks, *tail])


def approval_text(approval: Approval) -> str:
    """"Approved by <@U…> at HH:MM UTC (report sha256 abcd1234…)"."""
    who = mention(f"<@{approval.user}>")  # a Slack user id; anything else is shown as text, never a ping
    return (f":white_check_mark: Approved by {who} at {approval.at.astimezone(UTC):%H:%M} UTC "
            f"(report sha256 {approval.short_hash}…)")


def approval_block(approval: Approval) -> dict[str, Any]:
    return block_dict(ContextBlock(block_id="jobbot.review.approval",
                                   elements=[MarkdownTextObject(text=approval_text(approval))]))


def _finding_text(f: Finding) -> str:
    lines = [f"{MARKS[f.status]} *{f.id}* ({f.severity.value}) {escape(one_line(f.title))}"]
    if f.evidence is not None:
        observed = json.dumps(f.evidence.observed, sort_keys=True, default=str)
        lines.append(escape(truncate(f"{f.evidence.source} · {f.evidence.path} = {observed}", _EVIDENCE_MAX)))
    if f.fix is not None:
        lines.append(f"`{escape(f.fix.verify)}`")
    return "\n".join(lines)


def _context(report: ReviewReport, shown: int, *, full_report: bool) -> dict[str, Any]:
    errors = [f.id for f in report.findings if f.status is Status.ERROR]
    skipped = [f.id for f in report.findings if f.status is Status.SKIPPED]
    more = sum(1 for f in report.findings if f.status in (Status.FAIL, Status.WARN)) - shown
    parts = []
    if more > 0:
        parts.append(f"{more} more findings: *Full report* lists every finding in the thread" if full_report
                     else f"{more} more findings in `jobbot review {report.job.name} --format text`")
    parts.append(f"not evaluated: {', '.join(errors)}" if errors else "every rule evaluated")
    if skipped:
        parts.append(f"not applicable: {', '.join(skipped)}")
    if report.cost is not None:
        parts.append(f"cost {report.cost.window:.2f} {report.cost.currency} in the window, "
                     f"~{report.cost.month:.2f} a month (rates: {report.cost.rates_source})")
    text = truncate(escape(" · ".join(parts)), TEXT_OBJECT_MAX)
    return block_dict(ContextBlock(elements=[MarkdownTextObject(text=text)]))
