"""Every log line the app writes, formatted with its exception text and arguments, to check that nothing
secret leaks into the logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


class LogLines(logging.Handler):
    """Collects formatted records; `skip` names loggers that are not the app (the test's own HTTP client
    logs the URLs it calls, tokens included)."""

    def __init__(self, skip: tuple[str, ...] = ("httpx", "httpcore")) -> None:
        super().__init__(level=logging.DEBUG)
        self.skip = skip
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if self.skip and record.name.startswith(self.skip):
            return
        self.lines.append(logging.Formatter("%(name)s %(message)s %(exc_text)s").format(record)
                          + repr(record.args) + repr(record.__dict__))


@contextmanager
def captured_logs(skip: tuple[str, ...] = ("httpx", "httpcore")) -> Iterator[LogLines]:
    """Everything logged at DEBUG and above while open, by any logger but those in `skip`."""
    lines = LogLines(skip)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(lines)
    root.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        root.removeHandler(lines)
        root.setLevel(previous)
