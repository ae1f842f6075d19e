"""Posted reviews in the store: the report as its JSON document (what `jobbot review --format json` prints),
where it was posted, and what happened to it since. Messages are rendered from this when needed, so a click
never reads Azure again.

    review   <review id>   {"document": {...}, "channel", "ts", "posted_by", "posted_at", "approval",
                            "full_report_ts"}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.review.approval import Approval
from bot.store import Store

KIND = "review"
UPDATE_RETRIES = 40  # many people clicking at once: each lost race costs one more read-apply-write round


class ReviewGone(Exception):
    """The posted review is not in the store (any more)."""


@dataclass(frozen=True, slots=True)
class PostedReview:
    id: str
    document: dict[str, Any]  # review_to_dict(report), redacted as the CLI prints it
    channel: str
    ts: str | None  # None until chat.postMessage answered (or when it went through response_url)
    posted_by: str
    posted_at: datetime
    approval: Approval | None = None
    full_report_ts: str | None = None  # the first thread message of the full report, once posted

    def to_dict(self) -> dict[str, Any]:
        return {"document": self.document, "channel": self.channel, "ts": self.ts, "posted_by": self.posted_by,
                "posted_at": self.posted_at.isoformat(),
                "approval": None if self.approval is None else self.approval.to_dict(),
                "full_report_ts": self.full_report_ts}

    @classmethod
    def from_dict(cls, review_id: str, value: Mapping[str, Any]) -> PostedReview:
        approval = value.get("approval")
        return cls(id=review_id, document=dict(value["document"]), channel=str(value["channel"]),
                   ts=_text(value.get("ts")), posted_by=str(value["posted_by"]),
                   posted_at=datetime.fromisoformat(str(value["posted_at"])),
                   approval=None if approval is None else Approval.from_dict(approval),
                   full_report_ts=_text(value.get("full_report_ts")))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


class PostedReviews:
    def __init__(self, store: Store) -> None:
        self._records = store.records

    async def create(self, posted: PostedReview) -> None:
        await self._records.put(KIND, posted.id, posted.to_dict(), None)

    async def load(self, review_id: str) -> PostedReview | None:
        found = await self._records.get(KIND, review_id)
        return None if found is None else PostedReview.from_dict(review_id, found.value)

    async def attach_message(self, review_id: str, channel: str, ts: str) -> PostedReview:
        return await self._update(review_id, lambda p: replace(p, channel=channel, ts=ts))

    async def full_report_posted(self, review_id: str, ts: str) -> PostedReview:
        return await self._update(review_id, lambda p: p if p.full_report_ts else replace(p, full_report_ts=ts))

    async def approve(self, review_id: str, approval: Approval) -> tuple[PostedReview, bool]:
        """Record `approval` unless the review is approved already; returns the review as stored and whether
        this call recorded it (a second approval of the same report changes nothing)."""
        recorded = False

        def approve_once(posted: PostedReview) -> PostedReview:
            # May run more than once (a lost race): the last run is the one that was written.
            nonlocal recorded
            recorded = posted.approval is None
            return replace(posted, approval=approval) if recorded else posted

        saved = await self._update(review_id, approve_once)
        return saved, recorded

    async def _update(self, review_id: str, change: Callable[[PostedReview], PostedReview]) -> PostedReview:
        def apply(value: dict[str, Any] | None) -> dict[str, Any]:
            if value is None:
                raise ReviewGone(review_id)
            return change(PostedReview.from_dict(review_id, value)).to_dict()

        saved = await self._records.update(KIND, review_id, apply, retries=UPDATE_RETRIES)
        return PostedReview.from_dict(review_id, saved.value)
