"""Structured logs: one JSON object per line (or plain text on a terminal), each with the request id.

The request id comes from the caller's `X-Request-Id` (when it is a plain token) or is made up, is echoed in
the response, and follows the work the request started (asyncio tasks copy the context they start in), so
the lines of one slash command or one alert delivery can be found together.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

REQUEST_ID: ContextVar[str | None] = ContextVar("jobbot_request_id", default=None)
HEADER = "x-request-id"
_TOKEN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def request_id_from(header: str | None) -> str:
    """The caller's id when it is a plain token (it ends up in logs), else a new one."""
    return header if header and _TOKEN.match(header) else uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True


def log_format(choice: str | None) -> str:
    """`json` or `text`; by default JSON for machines (no terminal), text for a person at one."""
    if choice in ("json", "text"):
        return choice
    return "text" if sys.stderr.isatty() else "json"


def formatter(kind: str) -> logging.Formatter:
    if kind == "json":
        return JsonFormatter("%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
                             rename_fields={"asctime": "time", "levelname": "level", "name": "logger"})
    return logging.Formatter(TEXT_FORMAT)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record is emitted, not the stream it was at install: a command
    runs with stderr redirected through the redaction boundary, and a stream kept past that is closed later."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def install(level: str, kind: str) -> None:
    """The root logger's handler writes `kind` lines to stderr, each with the request id."""
    handler = _StderrHandler()
    handler.setFormatter(formatter(kind))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())


class RequestIdMiddleware:
    """ASGI: every HTTP request runs with a request id (its own or a new one), echoed in the response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope.get("headers") or [] if k.decode("latin-1").lower()
                      == HEADER), None)
        ident = request_id_from(given)
        token = REQUEST_ID.set(ident)

        async def send_with_id(message: dict[str, Any]) -> None:
            if message.get("type") == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (HEADER.encode(), ident.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
