"""One console line as a logging library wrote it -> its message, its level, and any error text it carries.

Two shapes are understood:
- text lines with the prefixes logging libraries print by default (timestamps in ISO, `date time,ms`,
  `HH:MM:SS.mmm` and Go's `YYYY/MM/DD` forms, levels, logger names, pids, thread names and request ids
  as Python logging, log4j/logback, Serilog, zap, klog, .NET's console logger and winston print them),
  and logfmt lines (logrus' text format: `time=… level=error msg="…" error="…"`);
- JSON lines (pino, winston, zap, Serilog's compact format, .NET's JSON console, structlog, bunyan):
  the message from `msg`/`message`/`@m`/`@mt`, error text from `@x`/`error`/`err`/`exception`/`stack`
  (objects such as pino's `err: {type, message, stack}` too) and the level from `level`/`@l`/`severity`.

Everything here is pure and linear in the line's length.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Any


class Level(IntEnum):
    """Severity, comparable: `level >= Level.ERROR`."""

    TRACE = 0
    DEBUG = 1
    INFO = 2
    WARNING = 3
    ERROR = 4
    FATAL = 5

    @property
    def label(self) -> str:
        return self.name.lower()


_LEVEL_WORDS: dict[str, Level] = {
    **dict.fromkeys(("trace", "trc", "verbose", "vrb", "silly", "finest", "finer", "trce"), Level.TRACE),
    **dict.fromkeys(("debug", "dbg", "dbug", "debu", "fine", "d"), Level.DEBUG),
    **dict.fromkeys(("info", "inf", "information", "informational", "notice", "http", "i", "config"),
                    Level.INFO),
    **dict.fromkeys(("warn", "warning", "wrn", "w"), Level.WARNING),
    **dict.fromkeys(("error", "err", "eror", "fail", "failure", "severe", "e"), Level.ERROR),
    **dict.fromkeys(("fatal", "critical", "crit", "ftl", "panic", "dpanic", "emerg", "emergency", "alert", "f"),
                    Level.FATAL),
}


def level_of(value: object) -> Level | None:
    """A level from what a logger wrote: a word in any case, or pino/bunyan's numbers (30 info, 50 error)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = int(value)
        for limit, level in ((10, Level.TRACE), (20, Level.DEBUG), (30, Level.INFO), (40, Level.WARNING),
                             (50, Level.ERROR)):
            if number <= limit:
                return level
        return Level.FATAL
    if isinstance(value, str):
        word = value.strip().lower()
        if word.isdigit():
            return level_of(int(word))
        return _LEVEL_WORDS.get(word)
    return None


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """What one row says once its logging prefix or JSON envelope is taken off.

    `message` is the human message (for a text line: the line without its prefix); `error` is error text
    the line carries besides the message (a JSON `err.stack`, a logfmt `error=`), possibly several lines;
    `level` is the level the logger wrote, None when it wrote none; `structured` says the line was JSON
    or logfmt (a complete event on its own: it never continues a stack trace); `prefixed` says a text
    prefix was removed (a continuation line of a trace never carries one).
    """

    raw: str
    message: str
    level: Level | None = None
    error: str | None = None
    structured: bool = False
    prefixed: bool = False


_LEVELS_UPPER = (r"TRACE|DEBUG|INFO|NOTICE|WARN(?:ING)?|ERROR|CRITICAL|FATAL|SEVERE|PANIC|DPANIC|EMERG|ALERT|"
                 r"VERBOSE|VRB|DBG|INF|WRN|ERR|EROR|FTL|TRC|DEBU|CRIT")
_LEVELS_LOWER = r"trace|debug|info|warn|warning|error|fatal|verbose|silly|http|fail|crit|dbug|trce|notice"

# Each prefix pattern consumes one token and the separators after it; a `l` group, when it matches, is a level.
_TIMESTAMP_PATTERNS: tuple[re.Pattern[str], ...] = (
    # klog / glog: E1128 09:26:13.417123       7 main.go:42] message
    re.compile(r"(?P<l>[IWEF])\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+\s+[\w.-]+:\d+\]\s*"),
    # Serilog's console default: [09:26:13 ERR] message
    re.compile(r"\[\d\d:\d\d:\d\d(?:[.,]\d+)? (?P<l>VRB|DBG|INF|WRN|ERR|FTL)\]\s*"),
    # ISO 8601 and Python's `2026-11-28 09:26:13,417`, bracketed or not, with a zone or not.
    re.compile(r"\[?\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|\s?[+-]\d\d:?\d\d|\s?UTC)?\]?"
               r"(?:\s*[|,;]|\s+-)?\s*"),
    # Go's log package: 2026/11/28 09:26:13 message
    re.compile(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)?\s+"),
    # logback's default: 09:26:13.417 [main] ERROR c.f.Worker - message
    re.compile(r"\[?\d\d:\d\d:\d\d(?:[.,]\d+)?\]?\s+"),
)
_LEVEL_PATTERNS: tuple[re.Pattern[str], ...] = (
    # Python's default format: ERROR:root:message
    re.compile(rf"(?P<l>{_LEVELS_UPPER}):[\w.-]+:\s*"),
    # .NET's console logger: `fail: Worker.Program[0]` (the message follows on the next, indented line)
    re.compile(r"(?P<l>fail|crit|warn|info|dbug|trce): [\w.`+<>-]+\[\d+\]\s*"),
    # A level word, bracketed or not: ERROR, [ERROR], ERROR:, <ERROR>
    re.compile(rf"[\[<]?(?P<l>{_LEVELS_UPPER})[\]>]?(?=[\s:|]|$)(?:\s*[:|-](?=\s|$)|\s*)\s*"),
    # zap's console encoder: lower-case level between tabs
    re.compile(r"(?P<l>debug|info|warn|error|dpanic|panic|fatal)\t"),
    # winston's simple format: `error: message` (lower case only: `Error: …` is a JavaScript error)
    re.compile(rf"(?P<l>{_LEVELS_LOWER}):\s+"),
    # logfmt's level key on its own
    re.compile(r"level=(?P<l>\w+)\s+"),
)
# Only after a timestamp or a level: what else a prefix holds before the message.
_CONTEXT_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\[?pid[\s:=]*\d+\]?:?\s*", re.IGNORECASE),
    re.compile(r"\(\d+\)\s+"),
    re.compile(rf"\d+\s+(?=\[|(?:{_LEVELS_UPPER})\b)"),  # a bare pid before the thread or level (`7 ERROR`)
    re.compile(r"\d+\s+---\s+"),  # Spring Boot: `ERROR 7 --- [main] c.f.Worker : message`
    re.compile(r"\[[^\]\n]{1,100}\]:?\s*"),  # thread, request id, logger in brackets
    # A logger name before a separator: `c.f.Worker - `, `worker.main | `, `app:worker - `
    re.compile(r"[A-Za-z_$][\w$.:/<>-]*(?:\[\d+\])?\s+[-|:]\s+"),
    # A lower-case dotted logger before a bracket, a colon or a space: `worker.main [pid 7]`, `app.jobs: `
    re.compile(r"[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)+(?::\s+|\s+(?=\[)|\s+)"),
    # zap's caller: worker/main.go:42
    re.compile(r"[\w./-]+\.(?:go|py|js|ts|java|cs|rb):\d+\s+"),
)
_MAX_TOKENS = 12
# Runtime messages that start like a level but are not a logger's prefix (V8's fatal error).
_NOT_PREFIXES = ("FATAL ERROR: ",)

_JSON_MESSAGE_KEYS = ("msg", "message", "@m", "@mt", "renderedmessage", "messagetemplate", "text", "event", "log")
_JSON_ERROR_KEYS = ("@x", "exception", "exc_info", "error", "err", "stack", "stack_trace", "stacktrace",
                    "error.message", "error.stack_trace", "error.stack", "exception.message",
                    "exception.stacktrace")
_JSON_LEVEL_KEYS = ("level", "@l", "severity", "loglevel", "levelname", "log.level", "lvl", "level_name",
                    "severitytext")
_LOGFMT = re.compile(r'([\w.@-]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)')
_LOGFMT_LINE = re.compile(r'^(?:[\w.@-]+=(?:"(?:[^"\\]|\\.)*"|[^\s"]*)\s*)+$')


def parse_line(raw: str) -> ParsedLine:
    """The message, level and error text of one console line (see the module's doc)."""
    text = raw.rstrip("\r\n")
    stripped, level, prefixed = strip_prefix(text)
    body = stripped.strip()
    if body.startswith("{") and body.endswith("}"):
        parsed = _json_line(raw, body, level)
        if parsed is not None:
            return parsed
    if "=" in body and ("msg=" in body or "level=" in body) and _LOGFMT_LINE.match(body):
        return _logfmt_line(raw, body, level)
    if prefixed and "\t{" in stripped:  # zap's console encoder: message, a tab, the fields as JSON
        message, _, context = stripped.partition("\t{")
        fields = _json_line(raw, "{" + context.strip(), level)
        if fields is not None:
            return ParsedLine(raw=raw, message=message.strip(), level=level, error=fields.error, prefixed=True)
    return ParsedLine(raw=raw, message=stripped if prefixed else text, level=level, prefixed=prefixed)


def strip_prefix(text: str) -> tuple[str, Level | None, bool]:
    """`text` without its logging prefix, the level the prefix names, and whether there was a prefix.

    A line that starts with white space is a continuation (a stack frame, a wrapped message): it is kept.
    """
    if not text or text[0].isspace() or text.startswith(_NOT_PREFIXES):
        return text, None, False
    rest, level, position, context = text, None, 0, False
    for _ in range(_MAX_TOKENS):
        match, is_level = _next_token(rest, position, context, level is None)
        if match is None:
            break
        if is_level and match.group("l"):
            level = level_of(match.group("l"))
        position = match.end()
        context = True
        if position >= len(rest):
            break
    if not context:
        return text, None, False
    return rest[position:], level, True


def _next_token(text: str, position: int, context: bool, want_level: bool) -> tuple[re.Match[str] | None, bool]:
    for pattern in _TIMESTAMP_PATTERNS:
        match = pattern.match(text, position)
        if match and match.end() > position:
            return match, "l" in pattern.groupindex
    if want_level:
        for pattern in _LEVEL_PATTERNS:
            match = pattern.match(text, position)
            if match and match.end() > position and level_of(match.group("l")) is not None:
                return match, True
    if context:
        for pattern in _CONTEXT_PATTERNS:
            match = pattern.match(text, position)
            if match and match.end() > position and not _looks_like_exception(match.group(0)):
                return match, False
    return None, False


_EXCEPTION_NAME = re.compile(r"(?:Error|Exception|Exit|Interrupt|Warning|Fault|Throwable)\b")


def _looks_like_exception(token: str) -> bool:
    return bool(_EXCEPTION_NAME.search(token))


def _json_line(raw: str, body: str, prefix_level: Level | None) -> ParsedLine | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    fields = _flatten_keys(data)
    message = _first_text(fields, _JSON_MESSAGE_KEYS) or ""
    error = _error_text(fields)
    level = next((lv for k in _JSON_LEVEL_KEYS if (lv := level_of(fields.get(k))) is not None), None)
    if level is None and ("@t" in fields and ("@m" in fields or "@mt" in fields)):
        level = Level.INFO  # Serilog's compact format leaves @l out for Information
    return ParsedLine(raw=raw, message=message, level=level if level is not None else prefix_level,
                      error=error, structured=True, prefixed=True)


def _flatten_keys(data: dict[str, Any]) -> dict[str, Any]:
    """Keys in lower case; one level of nesting also as `outer.inner` (ECS' `log.level`, `error.message`)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key).lower()
        out.setdefault(name, value)
        if isinstance(value, dict):
            for inner, inner_value in value.items():
                out.setdefault(f"{name}.{str(inner).lower()}", inner_value)
    return out


def _first_text(fields: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = fields.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _error_text(fields: dict[str, Any]) -> str | None:
    for key in _JSON_ERROR_KEYS:
        value = fields.get(key)
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, dict):
            text = _error_object(value)
            if text:
                return text
    return None


def _error_object(value: dict[str, Any]) -> str | None:
    """pino's `err: {type, message, stack}`, ECS' `error: {message, stack_trace}`, a nested `exception`."""
    lower = {str(k).lower(): v for k, v in value.items()}
    for key in ("stack", "stack_trace", "stacktrace", "trace"):
        if isinstance(lower.get(key), str) and lower[key].strip():
            return str(lower[key])
    message = lower.get("message") or lower.get("msg")
    kind = lower.get("type") or lower.get("class") or lower.get("name") or lower.get("kind")
    if isinstance(message, str) and message.strip():
        return f"{kind}: {message}" if isinstance(kind, str) and kind and kind not in message else message
    return None


def _logfmt_line(raw: str, body: str, prefix_level: Level | None) -> ParsedLine:
    fields: dict[str, str] = {}
    for key, value in _LOGFMT.findall(body):
        if value.startswith('"'):
            value = value[1:-1].replace('\\"', '"').replace("\\n", "\n").replace("\\t", "\t")
        fields.setdefault(key.lower(), value)
    message = fields.get("msg") or fields.get("message") or ""
    error = fields.get("error") or fields.get("err") or fields.get("exception") or None
    level = level_of(fields.get("level") or fields.get("lvl") or "") or prefix_level
    return ParsedLine(raw=raw, message=message, level=level, error=error, structured=True, prefixed=True)
