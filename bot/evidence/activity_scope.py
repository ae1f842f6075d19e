"""Which Activity Log rows concern one job: `config_changes.kql`'s filter, restated for one job's values.

Several jobs' `config_changes` go to Log Analytics as one query (`bot.evidence.batched_logs`) with their
ids, dependency names and subscriptions merged, so its rows are the union of what each job's own query
would return. This picks one job's share back out. It is applied to every answer, batched or not, and it
is never looser than the query (a term match for dependency names, as Kusto's `has` is; everything else
compared as the query does, ignoring case), so a job's rows are the same either way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.model import QueryResult

# The resource a child or extension resource (a role assignment on a vault) belongs to, as the query cuts it.
_PARENT = re.compile(r"^(/subscriptions/[^/]+/resourcegroups/[^/]+/providers/[^/]+/[^/]+/[^/]+)/.+")
_HEALTH = frozenset({"servicehealth", "resourcehealth"})
_ACCESS_PREFIXES = ("microsoft.authorization/roleassignments/", "microsoft.keyvault/vaults/accesspolicies/")
_VAULT_WRITE = "microsoft.keyvault/vaults/write"
ADDED_COLUMNS = ("SubscriptionId",)  # what the query returns only so this can tell jobs apart


def concerns(row: Mapping[str, Any], resource_ids: Sequence[str], related: Sequence[str],
             subscription_id: str) -> bool:
    """Whether `config_changes.kql` asked for one job (these values) would return `row`."""
    return _Scope(resource_ids, related, subscription_id).concerns(row)


def rows_concerning(result: QueryResult, resource_ids: Sequence[str], related: Sequence[str],
                    subscription_id: str) -> QueryResult:
    """The rows of one job, in their order, without the columns only the split needs."""
    scope = _Scope(resource_ids, related, subscription_id)
    rows = tuple({k: v for k, v in row.items() if k not in ADDED_COLUMNS} for row in result.rows
                 if scope.concerns(row))
    return QueryResult(rows, result.partial)


class _Scope:
    """One job's values, prepared once: a board of 50 jobs splits a batch of hundreds of rows 50 times."""

    __slots__ = ("ids", "names", "subscription")

    def __init__(self, resource_ids: Sequence[str], related: Sequence[str], subscription_id: str) -> None:
        self.ids = frozenset(i.lower() for i in resource_ids)
        terms = [re.escape(n.lower()) for n in related if n]
        # Kusto's `has` for any of the names at once.
        self.names = re.compile(rf"(?<![0-9a-z_])(?:{'|'.join(terms)})(?![0-9a-z_])") if terms else None
        self.subscription = subscription_id.lower()

    def concerns(self, row: Mapping[str, Any]) -> bool:
        resource = str(row.get("ResourceId") or "").lower()
        parent = _PARENT.match(resource)
        if resource in self.ids or (parent is not None and parent.group(1) in self.ids):
            return True
        if str(row.get("SubscriptionId") or "").lower() != self.subscription:
            return False
        operation = str(row.get("OperationNameValue") or "").lower()
        return (str(row.get("CategoryValue") or "").lower() in _HEALTH
                or (self.names is not None and self.names.search(resource) is not None)
                or operation.startswith(_ACCESS_PREFIXES)
                or operation == _VAULT_WRITE)
