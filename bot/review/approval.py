"""What an "Approve change" records: who approved which review report, when, pinned by the report's hash.

The hash is SHA-256 over the report's canonical JSON: the document `jobbot review --format json` prints
(`review_to_dict`), encoded with sorted keys, no insignificant whitespace and UTF-8 as is. Key order and
indentation do not change it (a database may store the keys in another order); any change to a finding,
a score or the cost does. An auditor can recompute it from the JSON alone, with the one-liner in the README.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SHORT_HASH = 8  # hex digits shown in Slack; the audit trail keeps all 64


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """The report document as canonical JSON bytes (sorted keys, compact, UTF-8)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def report_sha256(document: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the report document's canonical JSON."""
    return hashlib.sha256(canonical_json(document)).hexdigest()


@dataclass(frozen=True, slots=True)
class Approval:
    user: str  # Slack user id
    at: datetime  # timezone-aware, from the injected clock
    report_sha256: str

    def to_dict(self) -> dict[str, str]:
        return {"user": self.user, "at": self.at.astimezone(UTC).isoformat(), "report_sha256": self.report_sha256}

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> Approval:
        at = datetime.fromisoformat(str(value["at"]))
        if at.tzinfo is None:
            raise ValueError("an approval's time must carry its timezone")
        return cls(str(value["user"]), at, str(value["report_sha256"]))

    @property
    def short_hash(self) -> str:
        return self.report_sha256[:SHORT_HASH]
