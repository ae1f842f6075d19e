"""Role assignments and role definitions (Microsoft.Authorization 2022-04-01) of one scenario.

`GET {scope}/providers/Microsoft.Authorization/roleAssignments` answers as the service does: without a
filter, the assignments at, above and below the scope; `$filter=atScope()` at or above it;
`principalId eq '{id}'` (the 2022-04-01 reference writes it unquoted; both are read) and the older
`assignedTo('{id}')` those of one principal (at, above or below; with
`atScope() and …`, at or above). Group membership is not modelled: `assignedTo` matches the principal
itself. Role definitions are matched on their name (the trailing GUID), whatever scope the id names,
as assignments name them tenant-level (`/providers/Microsoft.Authorization/roleDefinitions/<guid>`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_PRINCIPAL_EQ = re.compile(r"^principalId\s+eq\s+(?P<q>'?)(?P<id>[^'\s]+)(?P=q)$", re.IGNORECASE)
_ASSIGNED_TO = re.compile(r"^assignedTo\('(?P<id>[^']+)'\)$", re.IGNORECASE)
_AT_SCOPE = re.compile(r"^atScope\(\)$", re.IGNORECASE)
_ROLE_NAME_EQ = re.compile(r"^roleName\s+eq\s+'(?P<name>[^']+)'$", re.IGNORECASE)


class UnsupportedFilter(ValueError):
    """A `$filter` the service would refuse (400)."""


@dataclass(frozen=True, slots=True)
class AssignmentFilter:
    at_scope: bool = False
    principal: str | None = None


def parse_assignment_filter(text: str | None) -> AssignmentFilter:
    if not text or not text.strip():
        return AssignmentFilter()
    at_scope, principal = False, None
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        part = part.strip()
        if _AT_SCOPE.match(part):
            at_scope = True
        elif match := (_PRINCIPAL_EQ.match(part) or _ASSIGNED_TO.match(part)):
            principal = match["id"]
        else:
            raise UnsupportedFilter(f"The filter '{text}' is not supported.")
    return AssignmentFilter(at_scope, principal)


def _scope(text: str) -> str:
    return "/" + text.strip("/").lower() if text.strip("/") else "/"


def _relation(assignment_scope: str, scope: str) -> str | None:
    """'at', 'above' (the assignment is inherited by `scope`), 'below', or None (unrelated)."""
    a, s = _scope(assignment_scope), _scope(scope)
    if a == s:
        return "at"
    if a == "/" or s.startswith(a + "/"):
        return "above"
    if s == "/" or a.startswith(s + "/"):
        return "below"
    return None


def assignments_for(
    assignments: Sequence[Mapping[str, Any]], scope: str, wanted: AssignmentFilter
) -> list[Mapping[str, Any]]:
    out = []
    for assignment in assignments:
        properties = assignment.get("properties") or {}
        relation = _relation(str(properties.get("scope", "")), scope)
        if relation is None or (wanted.at_scope and relation == "below"):
            continue
        if wanted.principal is not None and str(properties.get("principalId", "")).lower() != wanted.principal.lower():
            continue
        out.append(assignment)
    return out


def role_definition(definitions: Sequence[Mapping[str, Any]], name: str) -> Mapping[str, Any] | None:
    return next((d for d in definitions if str(d.get("name", "")).lower() == name.lower()), None)


def role_definitions_for(definitions: Sequence[Mapping[str, Any]], filter_text: str | None) -> list[Mapping[str, Any]]:
    if not filter_text or not filter_text.strip():
        return list(definitions)
    match = _ROLE_NAME_EQ.match(filter_text.strip())
    if match is None:
        raise UnsupportedFilter(f"The filter '{filter_text}' is not supported.")
    return [d for d in definitions if str((d.get("properties") or {}).get("roleName", "")) == match["name"]]
