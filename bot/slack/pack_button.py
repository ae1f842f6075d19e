"""The review message's **Evidence pack** button: its action id, and the job and window its value carries.

The click builds the pack from fresh reads of the same job over the same window (the value), so a
button on an old message still packs what the review judged, as of the click.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.errors import InvalidRequest
from bot.review.findings import ReviewReport
from bot.slack.sections import ButtonSpec, actions_blocks

EVIDENCE_PACK_ACTION = "jobbot.review.evidence_pack"


def evidence_pack_button(report: ReviewReport) -> ButtonSpec:
    hours = max(1, round(report.window.length.total_seconds() / 3600))
    return ButtonSpec("Evidence pack", EVIDENCE_PACK_ACTION, value=f"{report.job.id} {hours}h")


def parse_pack_value(value: str) -> tuple[str, str]:
    """(job ARM id, review window like '168h') from a button's value; InvalidRequest for anything else."""
    job, _, window = value.strip().partition(" ")
    if not job.startswith("/subscriptions/") or not window:
        raise InvalidRequest("That evidence-pack button is not one jobbot made.")
    return job, window


def with_button(blocks: Sequence[dict[str, Any]], button: ButtonSpec) -> list[dict[str, Any]]:
    """`blocks` with `button` appended to their actions row, or a new actions row at the end."""
    new = actions_blocks([button])[0]
    out = [dict(b) for b in blocks]
    for i, block in enumerate(out):
        if block.get("type") == "actions":
            out[i] = {**block, "elements": [*block.get("elements", []), *new["elements"]]}
            return out
    return [*out, new]
