"""The buttons under a review message: one actions row, every action id in the `jobbot.review.` namespace.

Each button's value is the posted review's id in the store. A new button (the evidence pack) is one more
`ActionId` and one more entry in `review_buttons`; its listener goes in the feature.
"""

from __future__ import annotations

from enum import StrEnum

from bot.review.findings import ReviewReport
from bot.slack.blocks import ButtonSpec
from bot.slack.pack_button import evidence_pack_button

NAMESPACE = "jobbot.review."


class ActionId(StrEnum):
    FULL_REPORT = NAMESPACE + "full_report"
    APPROVE = NAMESPACE + "approve"


def review_buttons(review_id: str, report: ReviewReport) -> list[ButtonSpec]:
    """The row, in the order shown: Full report, Approve change (primary: the one decision here), then the
    Evidence pack (its listener is the packs feature's, `bot.packs`)."""
    return [
        ButtonSpec("Full report", ActionId.FULL_REPORT.value, value=review_id),
        ButtonSpec("Approve change", ActionId.APPROVE.value, value=review_id, style="primary"),
        evidence_pack_button(report),
    ]
