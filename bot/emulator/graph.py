"""The Resource Graph query API of one scenario: `POST /providers/Microsoft.ResourceGraph/resources`.

A read, like the Log Analytics query: the body's `query` must be a canned query rendered by
`bot.kql.render_inline` (Resource Graph has no `let` statement, so a `render`ed query is refused as the
service refuses it) that reads a Resource Graph table (`resource_changes.kql`, `workspace_by_customer_id.kql`),
and it runs with the same KQL engine (duckdb-kql) over the scenario's `resource_changes` rows and its
`resources` (as the `resources` table). Answers have the service's shape
(`totalRecords`, `count`, `data`, `facets`, `resultTruncated` as the *string* "false", `$skipToken`
when more rows remain), in the `objectArray` result format (rows as objects, dynamic values as JSON)
or `table` (columns + rows). `subscriptions` scopes the rows; `options.$top` (1-1000, default 100),
`$skip` and `$skipToken` page them.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import duckdb_kql
from aiohttp import web

from bot.emulator.arm import arm_json
from bot.emulator.kql_readback import split_inlined, split_rendered
from bot.emulator.logs import GRAPH_TABLES, LogStore, Schema, StoreClosed, load_schema
from bot.emulator.scenario import Scenario

ROUTE = re.compile(r"^/providers/microsoft\.resourcegraph/resources$", re.IGNORECASE)
GRAPH_QUERIES = frozenset({"resource_changes", "workspace_by_customer_id"})
DEFAULT_TOP = 100
MAX_TOP = 1000
_TARGET = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)(?:/resourcegroups/(?P<rg>[^/]+))?", re.IGNORECASE
)


def graph_error(status: int, code: str, message: str, details: list[dict[str, str]] | None = None) -> web.Response:
    """Resource Graph's error body: {"error": {"code", "message", "details"?}}."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return arm_json({"error": error}, status=status)


def change_rows(scenario: Scenario) -> list[dict[str, Any]]:
    """The scenario's `resource_changes` rows, with the columns Resource Graph always fills (`id`, `name`,
    `type`, `subscriptionId`, `resourceGroup`) derived from `properties` where the file left them out."""
    rows: list[dict[str, Any]] = []
    for i, raw in enumerate(scenario.resource_changes):
        properties = raw.get("properties") or {}
        target = str(properties.get("targetResourceId") or "")
        match = _TARGET.match(target)
        name = raw.get("name") or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{i}:{json.dumps(raw, sort_keys=True)}"))
        row = {
            "id": f"{target}/providers/Microsoft.Resources/changes/{name}",
            "name": name,
            "type": "microsoft.resources/changes",
            "subscriptionId": match["sub"] if match else scenario.subscription,
            "resourceGroup": (match["rg"] or "").lower() if match else "",
            **raw,
        }
        rows.append(row)
    return rows


def resource_rows(scenario: Scenario) -> list[dict[str, Any]]:
    """The scenario's `resources` (ARM JSON) as rows of Resource Graph's `resources` table: its columns
    (`subscriptionId`, `resourceGroup` lower-cased, `type` lower-cased as Resource Graph writes it)."""
    rows: list[dict[str, Any]] = []
    for raw in scenario.resources:
        match = _TARGET.match(str(raw.get("id") or ""))
        rows.append({
            "id": raw.get("id"), "name": raw.get("name"), "type": str(raw.get("type") or "").lower(),
            "tenantId": raw.get("tenantId"), "kind": raw.get("kind"), "location": raw.get("location"),
            "resourceGroup": (match["rg"] or "").lower() if match else "",
            "subscriptionId": match["sub"] if match else scenario.subscription,
            "properties": raw.get("properties") or {}, "tags": raw.get("tags") or {},
        })
    return rows


class ResourceGraph:
    """The Resource Graph of one scenario: its tables in DuckDB and the query route."""

    def __init__(self, scenario: Scenario, workdir: Path, schema: Schema | None = None) -> None:
        full = schema or load_schema()
        self.scenario = scenario
        self._store = LogStore(
            scenario,
            workdir,
            schema={t: c for t, c in full.items() if t in GRAPH_TABLES},
            tables={"resourcechanges": change_rows(scenario), "resources": resource_rows(scenario)},
        )

    def close(self) -> None:
        self._store.close()

    async def handle(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, Mapping) or not isinstance(body.get("query"), str):
            return graph_error(400, "InvalidRequestContent", "The request content was invalid: 'query' is required.")
        text = str(body["query"])
        if split_rendered(text) is not None:
            return graph_error(
                400, "BadRequest", "Please provide below info when asking for support: the query is invalid.",
                [{"code": "InvalidQuery",
                  "message": "Azure Resource Graph does not support the 'let' statement (use render_inline)."}],
            )
        rendered = split_inlined(text)
        if rendered is None or rendered[0].name not in GRAPH_QUERIES:
            return graph_error(
                400, "BadRequest", "Please provide below info when asking for support: the query is not supported.",
                [{"code": "NotCannedQuery",
                  "message": "The jobbot emulator runs only canned Resource Graph queries (bot.kql.render_inline)."}],
            )
        options = body.get("options") if isinstance(body.get("options"), Mapping) else {}
        assert isinstance(options, Mapping)
        top = options.get("$top", DEFAULT_TOP)
        skip = options.get("$skip", 0)
        token = options.get("$skipToken")
        if not isinstance(top, int) or not 1 <= top <= MAX_TOP or not isinstance(skip, int) or skip < 0:
            return graph_error(400, "BadRequest", "options.$top must be 1-1000 and options.$skip at least 0.")
        if isinstance(token, str) and token:
            if not token.isdigit():
                return graph_error(400, "InvalidSkipToken", "The $skipToken is invalid.")
            skip = int(token)
        try:
            result = await asyncio.to_thread(self._store.run, text)
        except StoreClosed:
            return graph_error(503, "ServiceUnavailable", "The scenario changed; retry the query.")
        except (duckdb_kql.KqlError, duckdb.Error) as exc:
            return graph_error(400, "BadRequest", "Please provide below info when asking for support: query failed.",
                               [{"code": "InvalidQuery", "message": str(exc)}])
        [table] = result["tables"]
        columns = [(c["name"], c["type"]) for c in table["columns"]]
        rows = [
            {name: _value(value, kind) for (name, kind), value in zip(columns, row, strict=True)}
            for row in table["rows"]
        ]
        subscriptions = body.get("subscriptions")
        if isinstance(subscriptions, list) and subscriptions:
            wanted = {str(s).lower() for s in subscriptions}
            rows = [r for r in rows if str(r.get("subscriptionId", "")).lower() in wanted]
        page = rows[skip : skip + top]
        answer: dict[str, Any] = {
            "totalRecords": len(rows),
            "count": len(page),
            "data": _format(page, columns, str(options.get("resultFormat") or "objectArray")),
            "facets": [],
            "resultTruncated": "false",
        }
        if skip + top < len(rows):
            answer["$skipToken"] = str(skip + top)
        return arm_json(answer)


def _value(value: Any, kind: str) -> Any:
    # Log Analytics sends dynamic values as JSON text; Resource Graph as JSON.
    if kind == "dynamic" and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _format(rows: list[dict[str, Any]], columns: list[tuple[str, str]], result_format: str) -> Any:
    if result_format.lower() == "table":
        kinds = {"dynamic": "object", "long": "integer", "int": "integer", "real": "number"}
        return {
            "columns": [{"name": n, "type": kinds.get(k, k)} for n, k in columns],
            "rows": [[row[n] for n, _ in columns] for row in rows],
        }
    return rows
