"""One error, one signature: the variable parts of a message (ids, GUIDs, numbers, hex, times) replaced.

`normalise("connection to db-7f3a9c1e2b.internal:5432 refused (request 3f2a9c1e-…)")` is
`"connection to db-<hex>.internal:<n> refused (request <guid>)"`. Path segments that hold an id
(`/tmp/tmpa1b2c3d4/x`) become `<id>`, and replica-style suffixes
(`order-fulfillment-54avy-4e8rg`) too, so the same error from different executions groups together.
"""

from __future__ import annotations

import re

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?"), "<time>"),
    (re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"), "<guid>"),
    (re.compile(r"\b0x[0-9A-Fa-f]+\b|\b[0-9A-Fa-f]{8,}\b"), "<hex>"),
    # a path segment that is a generated name: /tmp/tmpa1b2c3d4/, /blobs/b7f3e2a1x9/ (not /v1/, not /api2/)
    (re.compile(r"(?<=/)(?=[^/\s]*\d)(?=[^/\s]*[A-Za-z])[\w.~%+-]{6,}(?=/)"), "<id>"),
    # generated suffixes of names: -54avy, _a1b2c3 (letters and digits mixed, at least one of each)
    (re.compile(r"(?<=[-_])(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z0-9]{4,}\b"), "<id>"),
    # numbers, but not the digits of a name (psycopg2, sha256, worker-v2)
    (re.compile(r"(?<![A-Za-z])\d+"), "<n>"),
    (re.compile(r"\s+"), " "),
)


def normalise(text: str) -> str:
    """`text` with its variable parts replaced and white space collapsed (see the module's doc)."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text.strip()
