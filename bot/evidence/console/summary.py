"""Console rows -> error signatures: parsed, grouped into events, judged, scrubbed, normalised, classified.

    summarise_console(rows) -> [Signature(text, kind, count, executions, first_seen, last_seen, level), ...]

`rows` are the rows kql/console_errors.kql returns (TimeGenerated, ReplicaName, ExecutionName, Stream,
Log). A multi-line stack trace is one event and counts once; its root cause line is the signature. A
line a logger marked info or debug is not an error whatever words it holds; a summary of work that went
well ("0 errors", "retry succeeded") is not one either. The text is scrubbed of secrets before anything
else sees it, then normalised (ids, GUIDs, numbers) so one error is one signature. The kind comes from
the whole root cause message, never from a cut one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.evidence.console.events import ConsoleRow, Event, group_events, root_cause
from bot.evidence.console.lines import Level
from bot.evidence.console.normalise import normalise
from bot.evidence.console.scrub import scrub
from bot.evidence.signatures import ErrorKind, classify

# Kept whole for classification; stored up to this many characters (the newest sample of a 100 kB line
# is not what a responder reads).
MAX_SIGNATURE = 1000

_ERROR_WORDS = re.compile(
    r"error|exception|fatal|fail|refused|timeout|timed out|denied|forbidden|unauthori[sz]ed|not authorized|"
    r"panic|traceback|out of memory|notfound|not found|does not exist|unavailable|unreachable|"
    r"\b(?:401|403|500|502|503|504)\b",
    re.IGNORECASE,
)
# "5 uploaded, 0 failed", "errors=0", "no errors": summaries of work that went well.
_SUCCESS = re.compile(
    r"\b(?:0|no|zero)\s+(?:errors?|failed|failures?|exceptions?)\b|"
    r"\b(?:errors?|failed|failures?|exceptions?)\s*[=:]\s*0\b|"
    r"\b(?:retry|retried|retrying|reconnect(?:ed|ing)?|attempt)\b.*\b(?:succeeded|successful(?:ly)?|recovered|ok)\b|"
    r"\b(?:succeeded|recovered)\s+(?:after|on)\s+(?:retry|attempt)",
    re.IGNORECASE,
)
# "retrying in 5s (attempt 2/5)": a notice that the logger marked a warning is not yet an error.
_RETRY_NOTICE = re.compile(r"\bretry(?:ing)?\b|\bwill retry\b|\battempt \d+\s*(?:/|of)\s*\d+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Signature:
    """One error the workload printed, however many times and in whatever format."""

    text: str                # scrubbed and normalised root cause, whole up to MAX_SIGNATURE characters
    kind: ErrorKind          # classified on the whole scrubbed message
    count: int               # events (a 40-line trace is one)
    executions: int          # distinct executions that printed it
    first_seen: datetime
    last_seen: datetime
    level: Level | None      # the most severe level a logger gave it; None when no logger wrote one


def summarise_console(rows: Iterable[Mapping[str, Any]]) -> list[Signature]:
    """The error signatures in console rows, most widespread first (executions, then events, then text)."""
    events = group_events(_row(r) for r in rows)
    groups: dict[str, _Group] = {}
    seen: dict[tuple[str, str], tuple[str, ErrorKind]] = {}  # (root, detail) -> (signature, kind)
    for event in events:
        if not is_error(event):
            continue
        key = (event.root, event.detail)
        if key not in seen:
            detail = scrub(event.detail)
            first = detail.split("\n", 1)[0]
            root = first if event.detail.split("\n", 1)[0] == event.root else scrub(event.root)
            seen[key] = (normalise(root), classify(detail))
        text, kind = seen[key]
        if not text:
            continue
        group = groups.get(text)
        if group is None:
            group = groups[text] = _Group(event.first, event.last)
        group.add(event, kind)
    signatures = [g.signature(text) for text, g in groups.items()]
    signatures.sort(key=lambda s: (-s.executions, -s.count, s.text))
    return signatures


def mentions_failure(text: str) -> bool:
    """Whether `text` holds a word of failure (what makes an unleveled stdout line a candidate error)."""
    return bool(_ERROR_WORDS.search(text))


def is_error(event: Event) -> bool:
    """Whether an event reports a failure (see the module's doc)."""
    if event.level is not None and event.level <= Level.INFO:
        return False
    if event.trace is None and _SUCCESS.search(event.root):
        return False
    if event.trace is not None or (event.level is not None and event.level >= Level.ERROR):
        return True
    words = bool(_ERROR_WORDS.search(event.text))
    if event.level == Level.WARNING:
        return words and not _RETRY_NOTICE.search(event.text)
    return event.stderr or words


class _Group:
    __slots__ = ("count", "executions", "first", "kinds", "last", "level")

    def __init__(self, first: datetime, last: datetime) -> None:
        self.count = 0
        self.executions: set[str] = set()
        self.first, self.last = first, last
        self.kinds: Counter[ErrorKind] = Counter()
        self.level: Level | None = None

    def add(self, event: Event, kind: ErrorKind) -> None:
        self.count += 1
        if event.execution:
            self.executions.add(event.execution)
        self.first, self.last = min(self.first, event.first), max(self.last, event.last)
        self.kinds[kind] += 1
        if event.level is not None and (self.level is None or event.level > self.level):
            self.level = event.level

    def signature(self, text: str) -> Signature:
        # Numbers are blanked after classifying: "HTTP 503" and "HTTP 404" share a text; the most frequent
        # kind names it, ties going to the kind listed first.
        order = list(ErrorKind)
        kind = min(self.kinds, key=lambda k: (-self.kinds[k], order.index(k)))
        cut = text if len(text) <= MAX_SIGNATURE else text[: MAX_SIGNATURE - 1] + "…"
        return Signature(cut, kind, self.count, len(self.executions), self.first, self.last, self.level)


def _row(row: Mapping[str, Any]) -> ConsoleRow:
    replica = str(row.get("ReplicaName") or row.get("ContainerGroupName") or row.get("ContainerGroupName_s") or "")
    execution = str(row.get("ExecutionName") or "") or _execution_of(replica)
    return ConsoleRow(time=_time(row.get("TimeGenerated")), replica=replica, execution=execution,
                      stream=str(row.get("Stream") or row.get("Stream_s") or ""),
                      log=str(row.get("Log") or row.get("Log_s") or ""))


def _execution_of(replica: str) -> str:
    head, _, tail = replica.rpartition("-")
    return head if head and tail else replica


def _time(value: object) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return datetime.min.replace(tzinfo=UTC)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.min.replace(tzinfo=UTC)


__all__ = ["Signature", "is_error", "mentions_failure", "root_cause", "summarise_console"]
