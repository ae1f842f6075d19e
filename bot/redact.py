"""Remove secrets from text before it is stored or shown: known values, and things shaped like secrets.

Two kinds of match are masked with `MARKER`:
- the exact secret values the caller knows (Slack signing secret, bot token, alert token …);
- text shaped like a credential: Slack tokens, JWTs, `Authorization: Bearer …`, the key, signature and
  password parts of Azure Storage / Service Bus / database connection strings, passwords in URLs,
  PEM private keys, GitHub tokens.

Everything else (job names, ARM ids, image references, timestamps) is left exactly as it was. The result
is a fixpoint: no known secret and no secret-shaped text is left in it, so redacting twice changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MARKER = "[REDACTED]"

# Shorter "secrets" would shred ordinary words; settings should refuse such values in the first place.
MIN_SECRET_LENGTH = 8

# Console signatures are normalised before they reach a report (digits become `<n>`, long hex `<hex>`,
# GUIDs `<guid>`): a secret that went through that is still a secret, so the placeholders count as part of
# the value they sit in.
_PLACEHOLDER = r"<(?:n|hex|guid)>"

# A value in `key=value` form: quoted, braced (ODBC) or up to the next separator.
_VALUE = rf"""(?:"[^"]*"|'[^']*'|\{{[^}}]*\}}|(?:{_PLACEHOLDER}|[^\s;&"',<>])+)"""
# Characters of base64url / token text, placeholders included.
_B64 = rf"(?:{_PLACEHOLDER}|[A-Za-z0-9_-])"

# Names whose value is a secret wherever they appear as `name=value` (connection strings, query strings,
# environment dumps). Prefixes are allowed, so `client_secret`, `SLACK_BOT_TOKEN`, `x-api-key` match;
# `SharedAccessKeyName` and `AccountName` do not (they are not secrets).
_SECRET_KEYS = (
    r"[A-Za-z0-9_.-]*?"
    r"(?:password|passwd|pwd|secret|token|accountkey|sharedaccesskey|signature|sig|apikey|api_key|api-key)"
)

# Each pattern masks its group named `s`.
_PATTERNS: tuple[re.Pattern[str], ...] = (
    # Slack bot/user/app/config/refresh tokens.
    re.compile(r"\b(?P<s>xox(?:[abposr]|e(?:\.xox[abposr])?)-[A-Za-z0-9-]+)"),
    re.compile(r"\b(?P<s>xapp-[A-Za-z0-9-]+)"),
    # JWTs (Entra ID access tokens among them): three base64url parts, the first a JSON header.
    re.compile(rf"\b(?P<s>eyJ{_B64}+\.{_B64}+\.{_B64}*)"),
    # GitHub tokens.
    re.compile(r"\b(?P<s>gh[pousr]_[A-Za-z0-9]{20,})"),
    # Authorization headers with a scheme: keep the scheme, mask the credential.
    re.compile(
        r"(?i)\bauthorization[\"']?\s*[:=]\s*[\"']?"
        r"(?:bearer|basic|digest|token|sharedkey|sharedaccesssignature)\s+(?P<s>[^\s\"',;]+)"
    ),
    # A bare bearer token long enough to be one.
    re.compile(rf"(?i)\bbearer\s+(?P<s>(?:{_PLACEHOLDER}|[A-Za-z0-9._~+/-]){{16,}}=*)"),
    # name=value and "name": "value" pairs whose name says secret.
    re.compile(rf"(?i)(?<![A-Za-z0-9_.-]){_SECRET_KEYS}\s*=\s*(?P<s>{_VALUE})"),
    re.compile(rf"(?i)[\"']{_SECRET_KEYS}[\"']\s*:\s*[\"'](?P<s>[^\"']+)[\"']"),
    # user:password@ in URLs (database URLs, proxies).
    re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^:/@\s]*:(?P<s>[^@\s/]+)@"),
    # PEM private keys, whole block.
    re.compile(r"(?P<s>-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----)", re.DOTALL),
)

# Enough passes for any realistic text; beyond that the input is adversarial and is masked entirely.
_MAX_PASSES = 8


# A literal every pattern above needs: text without any of them has nothing secret-shaped (the fast path for
# the many console lines scrubbed per triage). Keep it a superset when adding a pattern.
_MAYBE = re.compile(r"xox|xapp-|eyJ|gh[pousr]_|authorization|bearer|=|[\"']\s*:|@|-----BEGIN", re.IGNORECASE)

def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return `text` with every known secret value and every secret-shaped string replaced by `MARKER`."""
    known = usable_secrets(secrets)
    if not known and not _MAYBE.search(text):
        return text
    for _ in range(_MAX_PASSES):
        masked = _mask_once(text, known)
        if masked == text:
            return text
        text = masked
    # Masking kept producing new matches (a secret rebuilt from the marker and its neighbours).
    return MARKER


def usable_secrets(secrets: Iterable[str]) -> tuple[str, ...]:
    """The values worth masking: long enough to be secrets, and never part of the marker itself."""
    return tuple(sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH and s not in MARKER}, key=len, reverse=True))


def _mask_once(text: str, known: tuple[str, ...]) -> str:
    spans: list[tuple[int, int]] = []
    for secret in known:
        start = text.find(secret)
        while start != -1:
            spans.append((start, start + len(secret)))
            start = text.find(secret, start + 1)
    for pattern in _PATTERNS:
        for match in pattern.finditer(text):
            if match.end("s") > match.start("s"):
                spans.append(match.span("s"))
    if not spans:
        return text
    return _replace(text, _merge(spans))


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching spans become one, so no fragment of a secret is left between two markers."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _replace(text: str, spans: list[tuple[int, int]]) -> str:
    parts: list[str] = []
    position = 0
    for start, end in spans:
        parts += [text[position:start], MARKER]
        position = end
    parts.append(text[position:])
    return "".join(parts)


def redact_data(value: Any, secrets: Iterable[str] = ()) -> Any:
    """`value` (JSON-like: dicts, lists, strings …) with every string in it redacted; keys are kept as they
    are (they are names, chosen by code), other scalars pass unchanged."""
    known = usable_secrets(secrets)
    return _redact_data(value, known)


def _redact_data(value: Any, known: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return redact(value, known)
    if isinstance(value, dict):
        return {k: _redact_data(v, known) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_data(v, known) for v in value)
    return value
