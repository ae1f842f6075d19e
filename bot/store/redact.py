"""The project's one scrubber lives in `bot.redact` (console signatures use it too); this name stays for the store."""

from __future__ import annotations

from bot.redact import MARKER, MIN_SECRET_LENGTH, redact, redact_data, usable_secrets

__all__ = ["MARKER", "MIN_SECRET_LENGTH", "redact", "redact_data", "usable_secrets"]
