"""The full review for the thread under a review message (*Full report*): every finding, not just the 8 the
message shows, worst first and grouped by status, each with its evidence line, its read-only `az` command and
its money; then the cost with its waste and rates, and the reads that failed.

Lines are packed into sections with `packing.pack` (whole findings, never cut between them) and the sections
into as many thread messages as Block Kit needs: no finding is ever left out, and each message passes
`limits.check_blocks` (the 50-block limit and the message's text budget included).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import ContextBlock, HeaderBlock, MarkdownTextObject, PlainTextObject, SectionBlock

from bot.review.cost import money_text
from bot.review.findings import Finding, ReviewReport, Status
from bot.review.render import headline, worst_first
from bot.slack.blocks import SlackMessage
from bot.slack.kit import block_dict, section
from bot.slack.limits import (
    BLOCKS_MAX,
    HEADER_TEXT_MAX,
    MESSAGE_TEXT_MAX,
    SECTION_FIELD_MAX,
    TEXT_OBJECT_MAX,
    check_blocks,
    truncate,
)
from bot.slack.mrkdwn import code_span, fit, one_line
from bot.slack.packing import pack
from bot.slack.review_blocks import MARKS

log = logging.getLogger(__name__)

GROUPS = ((Status.FAIL, "Fail"), (Status.WARN, "Warn"), (Status.ERROR, "Not evaluated"),
          (Status.SKIPPED, "Not applicable"), (Status.OK, "Passed"))
_TITLE_MAX = 300
_EVIDENCE_MAX = 400
_VERIFY_MAX = 400
# As the triage message: all block text together stays well under Slack's limit, with room for the fallback.
_TEXT_BUDGET = MESSAGE_TEXT_MAX - 4000


def render_full_report(report: ReviewReport) -> list[SlackMessage]:
    """The complete review as one or more thread messages, in reading order."""
    title = headline(report)
    head: list[dict[str, Any]] = [
        block_dict(HeaderBlock(text=PlainTextObject(text=truncate(f"Full report — {title}", HEADER_TEXT_MAX)))),
        block_dict(SectionBlock(fields=[MarkdownTextObject(text=truncate(
            f"*{p.value.capitalize()}*\n{'n/a' if s.score is None else s.score} ({s.evaluated}/{s.total} evaluated)",
            SECTION_FIELD_MAX)) for p, s in report.scores.items()])),
    ]
    body: list[dict[str, Any]] = []
    ordered = worst_first(report.findings)
    currency = report.cost.currency if report.cost is not None else ""
    for status, name in GROUPS:
        lines = [finding_lines(f, currency) for f in ordered if f.status is status]
        if lines:
            # As many sections as lines: each line fits in one, so `pack` never leaves a finding out.
            texts = pack(lines, heading=f"*{name} ({len(lines)})*", max_sections=len(lines), more="findings")
            body += [section(t) for t in texts]
    body += [section(t) for t in pack(_cost_lines(report), heading="*Cost*", max_sections=4, more="cost lines")]
    if report.unread:
        unread = [fit(f"could not read {one_line(u)}", 500) for u in report.unread]
        body += [section(t) for t in pack(unread, heading="*Reads that failed*", max_sections=4, more="reads")]
    return _messages(title, head, body)


def finding_lines(f: Finding, currency: str = "") -> str:
    """One finding for the full report: mark, id, severity, title; then evidence, verify and money when it
    is not ok."""
    lines = [f"{MARKS[f.status]} *{f.id}* ({f.pillar.value}, {f.severity.value}) {fit(one_line(f.title), _TITLE_MAX)}"]
    if f.status is not Status.OK:
        if f.evidence is not None:
            observed = json.dumps(f.evidence.observed, sort_keys=True, default=str)
            lines.append(fit(one_line(f"{f.evidence.source} · {f.evidence.path} = {observed}"), _EVIDENCE_MAX))
        if f.fix is not None:
            lines.append("verify: " + code_span(f.fix.verify, _VERIFY_MAX))
        if f.money is not None:
            lines.append(fit(f"about {money_text(f.money.month, currency).strip()} a month "
                             f"({one_line(f.money.formula)})", 300))
    return "\n".join(lines)


def _cost_lines(report: ReviewReport) -> list[str]:
    cost = report.cost
    if cost is None:
        return ["not computed: the executions could not be read"]
    w = cost.waste

    def money(value: float | None) -> str:
        return "not read yet" if value is None else money_text(value, cost.currency)

    return [fit(line, 600) for line in (
        f"{money_text(cost.window, cost.currency)} over {cost.executions} executions in the window, about "
        f"{money_text(cost.month, cost.currency)} a month (before the free grant: {cost.free_grant})",
        f"waste: failed retries {money(w.failed_retries)}, empty runs {money(w.empty_runs)}, extra replicas "
        f"{money(w.extra_replicas)}, duplicates {money(w.duplicates)}",
        f"rates: {cost.vcpu_s}/vCPU-s, {cost.gib_s}/GiB-s — {one_line(cost.rates_source)}; "
        f"as of {cost.rates_as_of or 'not dated'}",
    )]


def _messages(title: str, head: Sequence[dict[str, Any]], body: Sequence[dict[str, Any]]) -> list[SlackMessage]:
    """Split the blocks into messages that each fit Slack's limits; the first starts with the header."""
    chunks: list[list[dict[str, Any]]] = [list(head)]
    for block in body:
        current = chunks[-1]
        # One block is kept free in each message for its closing context line.
        if len(current) + 2 > BLOCKS_MAX or _text(current) + _text([block]) + TEXT_OBJECT_MAX > _TEXT_BUDGET:
            chunks.append([])
        chunks[-1].append(block)
    total = len(chunks)
    messages = []
    for number, blocks in enumerate(chunks, 1):
        part = f" (part {number} of {total})" if total > 1 else ""
        blocks = [*blocks, block_dict(ContextBlock(elements=[MarkdownTextObject(
            text=f"Every finding of this review{part}, worst first; `jobbot review --format json` gives the same "
                 "report as JSON.")]))]
        problems = check_blocks(blocks)
        if problems:  # cannot happen by construction; never post what Slack would refuse
            log.warning("full review broke Slack limits: %s", "; ".join(problems))
        messages.append(SlackMessage(text=truncate(f"Full report — {title}{part}", 3000), blocks=blocks))
    return messages


def _text(blocks: Sequence[Mapping[str, Any]]) -> int:
    total = 0
    for block in blocks:
        texts = [block.get("text"), *(block.get("fields") or []), *(block.get("elements") or [])]
        total += sum(len(t.get("text") or "") for t in texts if isinstance(t, Mapping))
    return total
