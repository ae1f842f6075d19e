"""Read-only Log Analytics adapter: runs the canned KQL files through azure-monitor-query.

Several `query_workspace` calls run concurrently (the batch API is deprecated). One limiter per
process bounds them, because the service allows 5 concurrent queries per identity: an alert storm
queues here instead of failing there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from azure.monitor.query import LogsQueryPartialResult
from azure.monitor.query.aio import LogsQueryClient

from bot.azure.endpoints import Endpoints
from bot.azure.faults import upstream
from bot.azure.order import sort_rows
from bot.errors import UpstreamError
from bot.evidence.limiter import PriorityLimiter
from bot.kql import load_query, render
from bot.kql_combined import Part, render_combined, split
from bot.model import QueryResult, Window

SERVICE_CONCURRENCY = 5
SERVER_TIMEOUT_S = 30


class LogAnalyticsReader:
    """Implements the LogsReader port."""

    def __init__(self, credential: Any, endpoints: Endpoints, *, concurrency: int = SERVICE_CONCURRENCY) -> None:
        self._client = LogsQueryClient(credential, endpoint=endpoints.logs, **endpoints.client_kwargs())
        # By priority (a person's triage before alert triages); its wait does not count against deadlines.
        self._limiter = PriorityLimiter(concurrency, "Log Analytics")

    async def close(self) -> None:
        await self._client.close()

    async def query(
        self, workspace_id: str, query_name: str, params: Mapping[str, object], window: Window
    ) -> QueryResult:
        rows, partial = await self._run(workspace_id, render(query_name, **params), window)
        return _ordered(query_name, rows, partial)

    async def query_combined(self, workspace_id: str, parts: Sequence[Part], window: Window) -> list[QueryResult]:
        """Several canned queries of one window as one request (`bot.kql_combined`): one slot of the limiter,
        each query's own rows back."""
        rows, partial = await self._run(workspace_id, render_combined(parts), window)
        return [_ordered(name, split(rows, name), partial) for name, _ in parts]

    async def _run(self, workspace_id: str, text: str, window: Window) -> tuple[list[dict[str, Any]], str | None]:
        async with self._limiter.slot(), upstream("Log Analytics"):
            response = await self._client.query_workspace(
                workspace_id, text, timespan=(window.start, window.end), server_timeout=SERVER_TIMEOUT_S
            )
        if isinstance(response, LogsQueryPartialResult):
            tables, partial = response.partial_data, _partial_reason(response.partial_error)
        else:
            tables, partial = response.tables, None
        if not tables:
            if partial:
                raise UpstreamError(f"Log Analytics returned no rows: {partial}")
            return [], None
        table = tables[0]
        rows = [
            {column: _native(kind, value) for column, kind, value in zip(table.columns, table.columns_types, row,
                                                                          strict=False)}
            for row in table.rows
        ]
        return rows, partial


def _ordered(query_name: str, rows: list[dict[str, Any]], partial: str | None) -> QueryResult:
    # The service promises no row order: restore the one the query declares, ties broken by every
    # column, so the same world always gives the checks the same sequence.
    canned = load_query(query_name)
    columns = canned.columns or (tuple(rows[0]) if rows else ())
    return QueryResult(tuple(sort_rows(rows, canned.order, columns)), partial)


def _native(kind: str, value: Any) -> Any:
    # The service sends dynamic values as JSON text; the SDK leaves them as strings.
    if kind == "dynamic" and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _partial_reason(error: Any) -> str:
    message = getattr(error, "message", None) or str(error)
    return f"partial result ({message})"
