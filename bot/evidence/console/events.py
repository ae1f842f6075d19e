"""Console rows -> events: a stack trace written over many rows is one event, with its root cause line.

Rows of one replica that follow each other closely are one event when the later ones continue the first:
indented lines (frames, wrapped messages), `Traceback (most recent call last):`, `Caused by:`, `--->`,
`goroutine N [running]:`, Node's `    at …` frames, the further lines of an exception's message, and —
once a Python traceback, Go panic or Node crash has begun — every line without a logging prefix. A line
with a logging prefix, a JSON line, another replica or a pause longer than `GAP` starts a new event. The
root cause is the line a responder would quote:

- Python: the exception line after a traceback's frames (in a chain, the first traceback's: the cause);
- Java: the last `Caused by:` (else the exception in `Exception in thread …` or after the log line);
- .NET: the innermost `--->` inner exception (else the `Unhandled exception.` line);
- Go: the `panic:` or `fatal error:` line;
- Node: `FATAL ERROR: …` or the `…Error: …` line above the `at` frames;
- otherwise the event's first message.

JSON and logfmt lines are events on their own: their stack, if any, is inside the line.
Rows with equal times keep the order they came in, indented ones after the others.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.evidence.console.lines import Level, ParsedLine, parse_line

# Lines of one trace arrive within this of each other (the runtime prints a trace at once).
GAP = timedelta(seconds=2)
MAX_EVENT_ROWS = 500  # a trace longer than this is cut into several events


@dataclass(frozen=True, slots=True)
class ConsoleRow:
    """One console row as the query returns it."""

    time: datetime
    replica: str
    execution: str
    stream: str
    log: str


@dataclass(frozen=True, slots=True)
class Event:
    """One thing the workload said: a line, or a whole stack trace."""

    replica: str
    execution: str
    first: datetime
    last: datetime
    root: str                # the root cause line (or the message), unscrubbed
    detail: str              # the root cause's whole message (the line and its continuation), unscrubbed
    level: Level | None      # the most severe level a logger wrote on it, None when none did
    trace: str | None        # "python", "java", "dotnet", "go", "node" when a stack trace gave the root
    stderr: bool             # some row of it was written to stderr
    text: str                # every message of the event, one per line (for error words)


_CONTINUATION = re.compile(
    r"(?:Traceback \(most recent call last\):|During handling of the above exception|"
    r"The above exception was the direct cause|Caused by: |Suppressed: |\.\.\. \d+ (?:more|common frames)|"
    r"--- End of |goroutine \d+ \[|\[signal |created by |runtime stack:|exit status \d+$|Node\.js v\d|\}$|"
    r"<--- |Exception in thread |Unhandled exception\. |\^+$)"
)
# An exception line: `KeyError: 'id'`, `psycopg2.OperationalError: …`, `java.net.ConnectException: …`,
# `Error: connect ECONNREFUSED …`, `KeyboardInterrupt`.
_EXCEPTION_LINE = re.compile(r"[A-Za-z_$][\w$.]*(?:\s\[[\w-]+\])?(?::\s?.*)?$")
_DOTTED_EXCEPTION = re.compile(r"[A-Za-z][\w$]*(?:\.[\w$]+)+(?:Exception|Error|Throwable|Fault)(?::\s.*)?$")
_PY_TRACEBACK = "Traceback (most recent call last):"
_TRACE_START = re.compile(
    r"Traceback \(most recent call last\):|goroutine \d+ \[|runtime stack:|\^+$|panic: |fatal error: |"
    r"<--- Last few GCs --->"
)


def group_events(rows: Iterable[ConsoleRow], gap: timedelta = GAP) -> list[Event]:
    """Events in the order of their first row, replica by replica. Linear after one sort by (replica, time).

    Rows of one replica at the same instant come in whatever order the engine returned the tie in: a logged
    line (with its prefix) goes first, then a trace's header, the other lines, frames after the lines they
    belong to, and `Node.js v…`/`exit status` last.
    """
    parsed = [(row, parse_line(row.log)) for row in rows]
    parsed.sort(key=lambda pair: (pair[0].replica, pair[0].time, _tie_rank(*pair)))
    events: list[Event] = []
    current: list[tuple[ConsoleRow, ParsedLine]] = []
    for row, line in parsed:
        if current and len(current) < MAX_EVENT_ROWS and _continues(current, row, line, gap):
            current.append((row, line))
            continue
        if current:
            events.append(_event(current))
        current = [(row, line)]
    if current:
        events.append(_event(current))
    return events


_HEADER = re.compile(
    r"Traceback \(most recent call last\):|panic: |fatal error: |Unhandled exception\. |Exception in thread |"
    r"/\S+:\d+$"
)
_TRAILER = re.compile(r"Node\.js v\d|exit status \d+$")


def _tie_rank(row: ConsoleRow, line: ParsedLine) -> int:
    log = row.log
    if line.prefixed:
        return 0
    if log[:1].isspace():
        return 3
    if _HEADER.match(log):
        return 1
    return 4 if _TRAILER.match(log) else 2


def _continues(current: list[tuple[ConsoleRow, ParsedLine]], row: ConsoleRow, line: ParsedLine,
               gap: timedelta) -> bool:
    last_row, last_line = current[-1]
    if row.replica != last_row.replica or row.time - last_row.time > gap:
        return False
    if line.structured or current[0][1].structured or line.prefixed:
        return False
    if row.time == last_row.time:
        return True  # written at the same instant by the same replica, without a prefix of its own: one burst
    text = line.raw
    if not text.strip():
        return True  # the blank line inside a chained traceback or a Go panic
    if text[0].isspace() or _CONTINUATION.match(text):
        return True
    if any(_TRACE_START.match(_text(ln).strip()) for _, ln in current):
        return True  # inside a Python traceback, a Go panic or a Node crash every unprefixed line belongs to it
    if _in_exception_message(current):
        return True  # the further lines of a .NET or Java exception's message, before its frames
    # logback/log4j: the logged error line, then the exception with its frames
    return (len(current) == 1 and last_line.prefixed and (last_line.level or Level.INFO) >= Level.WARNING
            and _DOTTED_EXCEPTION.match(text) is not None)


_MESSAGE_START = re.compile(r"\s*(?:Unhandled exception\. |---> |Exception in thread |Caused by: )")
_FRAME = re.compile(r"\s+at \S")


def _text(line: ParsedLine) -> str:
    """A line as the runtime wrote it: without the logging prefix a logger put in front."""
    return line.message if line.prefixed and not line.structured else line.raw


def _in_exception_message(current: list[tuple[ConsoleRow, ParsedLine]]) -> bool:
    started = False
    for _, line in current:
        raw = _text(line)
        if _FRAME.match(raw):
            started = False
        elif _MESSAGE_START.match(raw):
            started = True
    return started


def _event(rows: list[tuple[ConsoleRow, ParsedLine]]) -> Event:
    first_row, first_line = rows[0]
    messages = [first_line.message] + [line.raw for _, line in rows[1:]]
    if first_line.error:  # a JSON or logfmt line's error field: its stack, or its text after the message
        error_lines = first_line.error.splitlines()
        messages += error_lines
        root, detail, trace = root_message(error_lines)
        if trace is None:
            message = first_line.message.strip()
            root = f"{message}: {root}" if message and root and root not in message else (root or message)
            detail = f"{message}: {detail}" if message and detail and detail not in message else (detail or message)
    else:
        root, detail, trace = root_message(messages)
    levels = [line.level for _, line in rows if line.level is not None]
    return Event(
        replica=first_row.replica,
        execution=first_row.execution,
        first=first_row.time,
        last=rows[-1][0].time,
        root=root,
        detail=detail,
        level=max(levels) if levels else None,
        trace=trace,
        stderr=any(r.stream.lower() == "stderr" for r, _ in rows),
        text="\n".join(messages),
    )


def root_cause(lines: Sequence[str]) -> tuple[str, str | None]:
    """The line that names what went wrong, and which runtime's trace it came from (None: no trace)."""
    _, text, trace = _root(lines)
    return text, trace


def root_message(lines: Sequence[str]) -> tuple[str, str, str | None]:
    """The root cause line, its whole message (the line and the lines that continue it before the frames:
    psycopg's hint, the Azure SDK's `Status:`/`ErrorCode:` lines) and the trace's runtime."""
    index, text, trace = _root(lines)
    if index < 0:
        return text, text, trace
    block = [text]
    for ln in lines[index + 1:]:
        if _END_OF_MESSAGE.match(ln):
            break
        if ln.strip():
            block.append(ln.strip())
    return text, "\n".join(block), trace


_END_OF_MESSAGE = re.compile(
    r"\s+at \S|\s+File \"|\s*--- End of|\s*\.\.\. \d+ more|\s*---> |Caused by: |goroutine \d+ \[|"
    r"Traceback \(|During handling|The above exception|\[signal |\s*\^+$|Node\.js v"
)
_Found = tuple[int, str, str | None]


def _root(lines: Sequence[str]) -> _Found:
    for finder in (_dotnet, _java_caused_by, _python, _go, _node, _java):
        found = finder(lines)
        if found:
            return found
    for i, ln in enumerate(lines):
        if ln.strip():
            return i, ln.strip(), None
    return -1, "", None


_INNER = re.compile(r"(?:^|\s)---> (?=\S)")


def _dotnet(lines: Sequence[str]) -> _Found | None:
    inner = [i for i, ln in enumerate(lines) if _INNER.search(ln) and "<---" not in ln]
    if inner:
        return inner[-1], _INNER.split(lines[inner[-1]])[-1].strip(), "dotnet"
    for i, ln in enumerate(lines):
        if ln.lstrip().startswith("Unhandled exception. "):
            return i, ln.strip().removeprefix("Unhandled exception. ").strip(), "dotnet"
    return None


def _java_caused_by(lines: Sequence[str]) -> _Found | None:
    causes = [i for i, ln in enumerate(lines) if ln.lstrip().startswith("Caused by: ")]
    if not causes:
        return None
    return causes[-1], lines[causes[-1]].strip().removeprefix("Caused by: ").strip(), "java"


def _python(lines: Sequence[str]) -> _Found | None:
    """The exception line that ends a traceback: the first line after its frames that is not indented.

    In a chain ("The above exception was the direct cause of the following exception", "During handling of
    the above exception, another exception occurred") the first traceback holds the root cause, as the last
    `Caused by:` does in Java: its exception is the one named.
    """
    starts = [i for i, ln in enumerate(lines) if ln.strip() == _PY_TRACEBACK]
    if not starts:
        return None
    for i in range(starts[0] + 1, len(lines)):
        ln = lines[i]
        if ln.strip() and not ln[0].isspace() and _EXCEPTION_LINE.match(ln.strip()):
            return i, ln.strip(), "python"
    return None


def _go(lines: Sequence[str]) -> _Found | None:
    for i, ln in enumerate(lines):
        text = ln.strip()
        if text.startswith(("panic: ", "fatal error: ")):
            return i, text.removesuffix(" [recovered]"), "go"
    return None


_NODE_ERROR = re.compile(r"(?:Uncaught )?(?:[A-Z]\w*)?(?:Error|Exception)(?: \[[\w-]+\])?: .*")


def _node(lines: Sequence[str]) -> _Found | None:
    for i, ln in enumerate(lines):
        if ln.strip().startswith("FATAL ERROR: "):
            return i, ln.strip(), "node"
    frames = [i for i, ln in enumerate(lines) if ln.lstrip().startswith("at ") and ln[:1].isspace()]
    if not frames:
        return None
    for i, ln in enumerate(lines[: frames[0]]):
        if _NODE_ERROR.fullmatch(ln.strip()):
            return i, ln.strip().removeprefix("Uncaught "), "node"
    return None


def _java(lines: Sequence[str]) -> _Found | None:
    for i, ln in enumerate(lines):
        text = ln.strip()
        if text.startswith("Exception in thread "):
            rest = text.split('" ', 1)
            return i, (rest[1] if len(rest) == 2 else text), "java"
    for i, ln in enumerate(lines):
        if _DOTTED_EXCEPTION.match(ln.strip()):
            return i, ln.strip(), "java" if ln.strip()[:1].islower() else "dotnet"
    return None
