"""ARM definitions fit for an evidence pack: every value that is or may be a secret masked, everything else kept.

- every `secrets[].value` (ARM does not return them on GET, but a payload that carries one must not leak it);
- every `env[].value` whose name looks like a credential (the names SEC-03 judges by), and the rest through
  `bot.redact` (connection strings, tokens, passwords in URLs …);
- any scalar under a key that names a secret (`sharedKey`, `password`, `connectionString` …), except keys
  that only name or locate one (`passwordSecretRef`, `keyVaultUrl`);
- then every string through `bot.redact` with the values the caller knows are secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from bot.redact import MARKER, redact_data
from bot.review.rules.security import CREDENTIAL_NAME

SECRET_KEY = re.compile(r"password|passwd|pwd|secret|token|connectionstring|sharedkey|accountkey|instrumentationkey|"
                        r"apikey|privatekey|certificatevalue|credential|sas", re.IGNORECASE)
# A key that names or locates a secret (its reference), rather than holding one.
REFERENCE_KEY = re.compile(r"(ref|name|url|uri|id|type)$", re.IGNORECASE)


def mask_definition(body: Mapping[str, Any], secrets: Iterable[str] = ()) -> Any:
    """`body` (ARM JSON) with secret values replaced by the redaction marker."""
    return redact_data(_mask(body), secrets)


def _mask(value: Any, key: str = "") -> Any:
    if isinstance(value, Mapping):
        return {str(k): _mask_field(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v, key) for v in value]
    return value


def _mask_field(key: str, value: Any) -> Any:
    if key == "env" and isinstance(value, list):
        return [_env(item) for item in value]
    if key == "secrets" and isinstance(value, list):
        return [_secret(item) for item in value]
    if _names_secret(key) and not isinstance(value, Mapping | list | tuple) and value not in (None, ""):
        return MARKER
    return _mask(value, key)


def _names_secret(key: str) -> bool:
    return bool(SECRET_KEY.search(key)) and not REFERENCE_KEY.search(key)


def _env(item: Any) -> Any:
    if not isinstance(item, Mapping):
        return _mask(item)
    masked = dict(_mask(item))
    if "value" in item and CREDENTIAL_NAME.search(str(item.get("name") or "")):
        masked["value"] = MARKER
    return masked


def _secret(item: Any) -> Any:
    if not isinstance(item, Mapping):
        return MARKER
    masked = dict(_mask(item))
    if "value" in item:
        masked["value"] = MARKER
    return masked
