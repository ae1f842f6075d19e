"""Console output read as services really write it: prefixes, JSON lines, multi-line traces, secrets.

`lines` parses one row, `events` groups rows into events with their root cause, `scrub` masks secrets,
`normalise` blanks variable parts, `summary` turns rows into classified `Signature`s. Pure: no I/O.
"""

from __future__ import annotations

from bot.evidence.console.summary import Signature, summarise_console

__all__ = ["Signature", "summarise_console"]
