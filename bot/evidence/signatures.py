"""Classify console error signatures: downstream dependency, lost access, or the workload's own error."""

from __future__ import annotations

import re
from enum import StrEnum


class ErrorKind(StrEnum):
    DEPENDENCY = "dependency"
    IDENTITY = "identity"
    APPLICATION = "application"


_DEPENDENCY = re.compile(
    r"connection refused|could not connect|connection reset|connection timed out|timed out|timeout|"
    r"econnrefused|etimedout|ehostunreach|no route to host|name or service not known|"
    r"temporary failure in name resolution|getaddrinfo|service unavailable|bad gateway|gateway timeout|"
    r"\b50[234]\b|server closed the connection|too many connections|unreachable",
    re.IGNORECASE,
)
_IDENTITY = re.compile(
    r"authorizationpermissionmismatch|authenticationfailed|\b401\b|\b403\b|forbidden|unauthori[sz]ed|"
    r"managedidentitycredential|access denied|permission denied|does not have authorization|"
    r"unable to fetch secret",
    re.IGNORECASE,
)


def classify(text: str) -> ErrorKind:
    if _IDENTITY.search(text):
        return ErrorKind.IDENTITY
    if _DEPENDENCY.search(text):
        return ErrorKind.DEPENDENCY
    return ErrorKind.APPLICATION
