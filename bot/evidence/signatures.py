"""Classify console error signatures: lost access, a missing event source, memory exhausted inside the runtime,
an unreachable downstream dependency, or the workload's own error.

The patterns are a list of (pattern, kind) entries, tried in order (the first that matches wins), so
each alternative can be dropped on its own (tools/signature_mutants.py does, and the table in
tests/test_signatures_table.py must then fail). Matching ignores case.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum


class ErrorKind(StrEnum):
    DEPENDENCY = "dependency"
    IDENTITY = "identity"
    EVENT_SOURCE = "event-source"  # the queue, topic or subscription the job reads does not exist
    MEMORY = "memory"              # the runtime itself ran out of memory (not the container's OOM kill)
    APPLICATION = "application"


# In priority order: access first (a 403 behind a timeout is still a 403), then the missing event source,
# memory, and downstream dependencies.
PATTERNS: tuple[tuple[str, ErrorKind], ...] = (
    # identity: the workload is refused access
    (r"authorizationpermissionmismatch", ErrorKind.IDENTITY),   # Storage data-plane RBAC
    (r"authenticationfailed", ErrorKind.IDENTITY),              # Storage: key or SAS rejected
    (r"\b401\b", ErrorKind.IDENTITY),
    (r"\b403\b", ErrorKind.IDENTITY),
    (r"forbidden", ErrorKind.IDENTITY),                         # also Key Vault ForbiddenByRbac/ForbiddenByPolicy
    (r"unauthori[sz]ed", ErrorKind.IDENTITY),                   # ACR, Service Bus 'Listen' claim
    (r"managedidentitycredential", ErrorKind.IDENTITY),         # azure-identity: no identity to use
    (r"identity not found", ErrorKind.IDENTITY),                # IMDS: the identity is not on the resource
    (r"not authorized to perform", ErrorKind.IDENTITY),         # Key Vault / Storage RBAC
    (r"does not have authorization", ErrorKind.IDENTITY),       # ARM AuthorizationFailed
    (r"access denied", ErrorKind.IDENTITY),
    (r"permission denied", ErrorKind.IDENTITY),
    (r"unable to fetch secret", ErrorKind.IDENTITY),
    # event-source: what the scale rule names is not there
    (r"queuenotfound", ErrorKind.EVENT_SOURCE),
    (r"messagingentitynotfound", ErrorKind.EVENT_SOURCE),
    (r"the specified queue does not exist", ErrorKind.EVENT_SOURCE),
    # memory: exhausted inside the runtime
    (r"javascript heap out of memory", ErrorKind.MEMORY),
    (r"\bmemoryerror\b", ErrorKind.MEMORY),                     # Python
    (r"outofmemoryerror", ErrorKind.MEMORY),                    # Java
    (r"runtime: out of memory", ErrorKind.MEMORY),              # Go
    (r"outofmemoryexception", ErrorKind.MEMORY),                # .NET
    # dependency: something downstream cannot be reached
    (r"connection refused", ErrorKind.DEPENDENCY),
    (r"could not connect", ErrorKind.DEPENDENCY),
    (r"connection reset", ErrorKind.DEPENDENCY),
    (r"timed out", ErrorKind.DEPENDENCY),
    (r"timeout", ErrorKind.DEPENDENCY),
    (r"econnrefused", ErrorKind.DEPENDENCY),
    (r"etimedout", ErrorKind.DEPENDENCY),
    (r"ehostunreach", ErrorKind.DEPENDENCY),
    (r"no route to host", ErrorKind.DEPENDENCY),
    (r"name or service not known", ErrorKind.DEPENDENCY),
    (r"temporary failure in name resolution", ErrorKind.DEPENDENCY),
    (r"getaddrinfo", ErrorKind.DEPENDENCY),
    (r"service unavailable", ErrorKind.DEPENDENCY),
    (r"bad gateway", ErrorKind.DEPENDENCY),
    (r"\b50[234]\b", ErrorKind.DEPENDENCY),
    (r"server closed the connection", ErrorKind.DEPENDENCY),
    (r"too many connections", ErrorKind.DEPENDENCY),
    (r"unreachable", ErrorKind.DEPENDENCY),
)


class Classifier:
    """Classifies with a list of (pattern, kind) entries; the first that matches wins."""

    def __init__(self, patterns: Sequence[tuple[str, ErrorKind]] = PATTERNS, flags: int = re.IGNORECASE) -> None:
        # Consecutive entries of one kind become one alternation: the same answer, one search per kind.
        runs: list[tuple[list[str], ErrorKind]] = []
        for pattern, kind in patterns:
            if runs and runs[-1][1] == kind:
                runs[-1][0].append(pattern)
            else:
                runs.append(([pattern], kind))
        self._compiled = tuple((re.compile("|".join(f"(?:{p})" for p in group), flags), kind)
                               for group, kind in runs)

    def __call__(self, text: str) -> ErrorKind:
        for pattern, kind in self._compiled:
            if pattern.search(text):
                return kind
        return ErrorKind.APPLICATION


_DEFAULT = Classifier()


def classify(text: str) -> ErrorKind:
    """The kind of error `text` (a whole message, never a cut one) names."""
    return _DEFAULT(text)
