"""Secrets out of console text before a signature is made: the project's one scrubber, `bot.redact`.

URL userinfo passwords, `Password=`/`Pwd=`/`AccountKey=`/`SharedAccessKey=`/`sig=` pairs and the other
secret-named pairs of connection strings, bearer tokens and `Authorization:` headers, JWTs, Slack and
GitHub tokens and PEM private keys are replaced by `[REDACTED]`; nothing else changes.
"""

from __future__ import annotations

from bot.redact import MARKER, redact

__all__ = ["MARKER", "scrub"]


def scrub(text: str) -> str:
    """`text` with every secret-shaped part masked."""
    return redact(text)
