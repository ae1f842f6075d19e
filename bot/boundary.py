"""The redaction boundary: every text that leaves the process passes `bot.store.redact` once, here.

    Slack     bot/slack/client.py (Web API calls) and bot/slack/app.py (ack / respond)
    CLI       `redacted_output`: stdout and stderr of a `jobbot` command
    logs      `install_log_redaction`: a logging.Filter on every handler, installed at start-up
    audit     bot/store/audit.py, on its way into the store

Redaction knows the process's own secret values (tokens, signing secret, database URL) and every
secret-shaped string (connection-string keys, URL passwords, bearer tokens, JWTs, Slack tokens, PEM keys).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

from bot.store.redact import redact, redact_data, usable_secrets

# Attributes every LogRecord has; anything else on a record came from `extra=` and is redacted too.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class LogRedaction(logging.Filter):
    """Redacts a record's message, arguments, `extra` strings, exception and stack text. Arguments stay a
    tuple (uvicorn's access formatter unpacks them), each string in it redacted."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__("jobbot-redaction")
        self._secrets = usable_secrets(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        clean = self._clean
        if isinstance(record.msg, str):
            template = clean(record.msg)
            if template != record.msg and record.args:
                # A placeholder sat in a secret-shaped span (`"password=%s"`): render the line, then redact
                # it whole, so the secret is masked and the arguments still match.
                record.msg, record.args = clean(record.getMessage()), None
            else:
                record.msg = template
        if isinstance(record.args, tuple):
            record.args = tuple(self._arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: self._arg(v) for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            # Formatters print exc_text when it is set; the exception object itself (its message may quote a
            # secret) goes no further than here.
            record.exc_text, record.exc_info = clean(record.exc_text), None
        if record.stack_info:
            record.stack_info = clean(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, clean(value))
        return True

    def _clean(self, text: str) -> str:
        return redact(text, self._secrets)

    def _arg(self, value: Any) -> Any:
        if isinstance(value, bool | int | float) or value is None:
            return value  # %d and %f need numbers; numbers are never secrets
        return self._clean(value if isinstance(value, str) else str(value))


def install_log_redaction(secrets: Iterable[str] = ()) -> Callable[[], None]:
    """Put one LogRedaction on every handler that exists now (root's and every named logger's, uvicorn's
    included); returns the function that takes it off again."""
    log_filter = LogRedaction(secrets)
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    handlers = {id(h): h for lg in loggers for h in lg.handlers}.values()
    for handler in handlers:
        handler.addFilter(log_filter)

    def uninstall() -> None:
        for handler in handlers:
            handler.removeFilter(log_filter)

    return uninstall


class _RedactingStream(io.TextIOBase):
    """A text stream that redacts each write before passing it on (one `print` is one write of its text)."""

    def __init__(self, target: TextIO, secrets: tuple[str, ...]) -> None:
        self._target, self.secrets = target, secrets

    def write_json(self, data: Any) -> None:
        """JSON is redacted value by value and then encoded, not redacted as text: text rules would read
        its keys (`"signature": …`) as secret names and could cut an escaped quote in half."""
        self._target.write(json.dumps(redact_data(data, self.secrets), indent=2) + "\n")

    def write(self, text: str) -> int:
        self._target.write(redact(text, self.secrets))
        return len(text)

    def flush(self) -> None:
        self._target.flush()

    def isatty(self) -> bool:
        return self._target.isatty()


def print_json(data: Any) -> None:
    """Print `data` as JSON on stdout, through the boundary's value-by-value redaction."""
    out = sys.stdout
    if isinstance(out, _RedactingStream):
        out.write_json(data)
    else:  # outside `redacted_output` (a library caller): redact with the shapes alone
        out.write(json.dumps(redact_data(data), indent=2) + "\n")


@contextlib.contextmanager
def redacted_output(secrets: Iterable[str] = ()) -> Iterator[None]:
    """While inside, what the command prints on stdout and stderr, and what it logs, is redacted."""
    known = usable_secrets(secrets)
    uninstall = install_log_redaction(known)
    try:
        with contextlib.redirect_stdout(_RedactingStream(sys.stdout, known)), \
                contextlib.redirect_stderr(_RedactingStream(sys.stderr, known)):
            yield
    finally:
        uninstall()
