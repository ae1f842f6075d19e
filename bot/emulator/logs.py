"""The Log Analytics query API of one scenario: canned KQL, run by duckdb-kql over the scenario's rows.

Tables come from `kql/schema.json` (one DuckDB table per entry, created empty, then the scenario's
rows inserted by column name: a missing column is NULL, a key the schema does not list is ignored).
The database is written once to a file and then opened read-only, so a query cannot change it even
if the translator let one through; duckdb-kql also runs with `allow_write=False`. Queries run off
the event loop, at most one per DuckDB connection at a time (a small pool of cursors).

Only text that `bot.emulator.kql_readback.split_rendered` recognises as a rendered canned query (or `split_combined` as
several of them in one union) is executed; anything else is refused with 400 `BadArgumentError`, as the emulator
exists to run the very same files.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import queue
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import duckdb_kql
from aiohttp import web
from duckdb_kql.translate import TYPE_MAP
from duckdb_kql.types import kusto_type

from bot.emulator.kql_readback import split_combined, split_rendered
from bot.emulator.scenario import Scenario, ScenarioError
from bot.emulator.shuffle import Shuffle
from bot.kql import QUERY_DIR

POOL_SIZE = 4
# Tables of kql/schema.json that Resource Graph serves (the emulator feeds them from `resource_changes`), not
# Log Analytics.
GRAPH_TABLES = frozenset({"resourcechanges", "resources"})
Schema = dict[str, dict[str, str]]  # table -> column -> Kusto type


def logs_error(
    status: int,
    code: str,
    message: str,
    *,
    inner: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """The Log Analytics error body: {"error": {"code", "message", "correlationId", "innererror"?}}."""
    error: dict[str, Any] = {"code": code, "message": message, "correlationId": str(uuid.uuid4())}
    if inner:
        error["innererror"] = dict(inner)
    return web.json_response({"error": error}, status=status, headers=headers)


def load_schema(path: Path | None = None) -> Schema:
    """`kql/schema.json` as {table: {column: kusto type}}."""
    path = path or QUERY_DIR / "schema.json"
    tables = json.loads(path.read_text(encoding="utf-8"))["tables"]
    return {str(t): {str(c): str(k) for c, k in columns.items()} for t, columns in tables.items()}


class StoreClosed(RuntimeError):
    """The scenario this store served was replaced while a request was on its way."""


class LogStore:
    """The workspace of one scenario: its DuckDB tables and the query route."""

    def __init__(
        self,
        scenario: Scenario,
        workdir: Path,
        schema: Schema | None = None,
        *,
        tables: Mapping[str, list[dict[str, Any]]] | None = None,
        shuffle: Shuffle | None = None,
    ) -> None:
        """`tables` (default: the scenario's Log Analytics tables) are the rows fed to the schema's tables."""
        self.scenario = scenario
        # With a shuffle, rows are stored and returned in a seeded order: the engine then breaks ties
        # (`top N`, `arg_max`) differently per seed, as the service may, and results arrive in any order.
        self.shuffle = shuffle
        self._path = workdir / f"logs-{uuid.uuid4().hex}.duckdb"
        if schema is None:
            schema = {t: c for t, c in load_schema().items() if t not in GRAPH_TABLES}
        _build(self._path, schema, scenario, scenario.tables if tables is None else tables, shuffle)
        self._connection = duckdb_kql.connect(str(self._path), read_only=True)
        self._cursors: queue.Queue[duckdb.DuckDBPyConnection] = queue.Queue()
        for _ in range(POOL_SIZE):
            self._cursors.put(self._connection.cursor())
        self._lock = threading.Lock()
        self._active = 0
        self._closed = False
        # The world is frozen, so an answer to the same text never changes: remember it. Repeated triages
        # (tests, demo, benchmarks) then cost the emulator nothing after the first.
        self._answers: dict[str, dict[str, Any]] = {}

    # --- the HTTP route ----------------------------------------------------------------------------

    async def handle(self, request: web.Request, workspace_id: str, *, partial: bool) -> web.Response:
        """POST /v1/workspaces/{id}/query."""
        if workspace_id.lower() != self.scenario.workspace_id.lower():
            return logs_error(404, "WorkspaceNotFoundError", f"The workspace could not be found: {workspace_id}")
        try:
            body = await request.json()
        except ValueError:
            body = None
        text = body.get("query") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            return logs_error(400, "BadArgumentError", "The request had some invalid properties: query")
        if split_rendered(text) is None and split_combined(text) is None:
            return logs_error(
                400,
                "BadArgumentError",
                "The request had some invalid properties",
                inner={
                    "code": "NotCannedQuery",
                    "message": "The jobbot emulator runs only canned queries rendered by bot.kql.render.",
                },
            )
        try:
            result = await asyncio.to_thread(self.run, text)
        except StoreClosed:
            return logs_error(503, "ServiceUnavailableError", "The scenario changed; retry the query.")
        except (duckdb_kql.KqlError, duckdb.Error) as exc:
            syntax = isinstance(exc, duckdb_kql.KqlSyntaxError)
            return logs_error(
                400,
                "BadArgumentError",
                "The request had some invalid properties",
                inner={"code": "SyntaxError" if syntax else "SemanticError", "message": str(exc)},
            )
        if partial:
            result["error"] = _PARTIAL_ERROR
        return web.json_response(result)

    # --- running ------------------------------------------------------------------------------------

    def run(self, text: str) -> dict[str, Any]:
        """Run one KQL query (blocking) and serialise it the way the service does."""
        known = self._answers.get(text)
        if known is None:
            known = self._answers[text] = self._execute(text)
        answer = copy.deepcopy(known)
        if self.shuffle is not None:
            for table in answer["tables"]:
                table["rows"] = self.shuffle.items(f"rows {table['name']} {text}", table["rows"])
        return answer

    def _execute(self, text: str) -> dict[str, Any]:
        with self._lock:
            if self._closed:
                raise StoreClosed
            self._active += 1
        cursor = self._cursors.get()
        try:
            relation = duckdb_kql.query(cursor, text, allow_write=False, query_now=self.scenario.now)
            names = list(relation.columns)
            types = [kusto_type(t) for t in relation.types]
            rows = relation.fetchall()
        finally:
            self._cursors.put(cursor)
            with self._lock:
                self._active -= 1
                if self._closed and self._active == 0:
                    self._release()
        return {
            "tables": [
                {
                    "name": "PrimaryResult",
                    "columns": [{"name": n, "type": t} for n, t in zip(names, types, strict=True)],
                    "rows": [[_wire(v, t) for v, t in zip(row, types, strict=True)] for row in rows],
                }
            ]
        }

    def close(self) -> None:
        """Close now, or when the last running query ends."""
        with self._lock:
            self._closed = True
            if self._active == 0:
                self._release()

    def _release(self) -> None:
        while not self._cursors.empty():
            self._cursors.get_nowait().close()
        self._connection.close()
        self._path.unlink(missing_ok=True)


_PARTIAL_ERROR = {
    "code": "PartialError",
    "message": "There were some errors when processing your query.",
    "details": [
        {
            "code": "EngineError",
            "message": "Something went wrong processing your query on the server.",
            "innererror": {
                "code": "-2133196797",
                "message": "Query execution has exceeded the allowed limits (80DA0003): partial results "
                "(injected by the jobbot emulator).",
                "severity": 2,
                "severityName": "Error",
            },
        }
    ],
}


# --- building the database ----------------------------------------------------------------------------


def _build(path: Path, schema: Schema, scenario: Scenario, tables: Mapping[str, list[dict[str, Any]]],
           shuffle: Shuffle | None = None) -> None:
    problems: list[str] = []
    for table in tables:
        if table in GRAPH_TABLES and table not in schema:
            problems.append(f"tables.{table}: a Resource Graph table, not a Log Analytics one: put its rows under "
                            f"{_key_of(table)}")
        elif table not in schema:
            problems.append(f"tables.{table}: not a table of kql/schema.json ({', '.join(sorted(schema))})")
    known = load_schema()  # this database may hold only some of them (Resource Graph's has one)
    for i, table in enumerate(scenario.absent_tables):
        if table not in known or table in GRAPH_TABLES:
            problems.append(f"absent_tables[{i}]: {table} is not a table of kql/schema.json")
        elif tables.get(table):
            problems.append(f"absent_tables[{i}]: {table} has rows under tables")
    con = duckdb_kql.connect(str(path))
    try:
        for table, columns in schema.items():
            if table in scenario.absent_tables:
                continue  # the workspace never had it
            ddl = ", ".join(f"{_ident(c)} {_duck_type(table, c, k)}" for c, k in columns.items())
            con.execute(f"CREATE TABLE {_ident(table)} ({ddl})")
            rows = tables.get(table, [])
            values = [
                [_cell(_value(row, c), k, f"{_key_of(table)}[{i}].{c}", problems) for c, k in columns.items()]
                for i, row in enumerate(rows)
            ]
            if shuffle is not None:
                values = shuffle.items(f"table {table}", values)
            if values and not problems:
                marks = ", ".join("?" for _ in columns)
                con.executemany(f"INSERT INTO {_ident(table)} VALUES ({marks})", values)
    finally:
        con.close()
    if problems:
        path.unlink(missing_ok=True)
        raise ScenarioError(str(scenario.path or scenario.name), problems)


BILLED_SIZE = "_BilledSize"


def _value(row: Mapping[str, Any], column: str) -> Any:
    """A row's value for `column`. Log Analytics measures every record's billed bytes itself: a scenario row that
    does not state `_BilledSize` gets the size of its own data (as JSON), so log volume follows the rows."""
    if column == BILLED_SIZE and row.get(column) is None:
        data = {k: v for k, v in row.items() if k != BILLED_SIZE and v is not None}
        return float(len(json.dumps(data, default=str, sort_keys=True).encode()))
    return row.get(column)


def _key_of(table: str) -> str:
    """Where a table's rows are in the scenario file."""
    return {"resourcechanges": "resource_changes", "resources": "resources"}.get(table, f"tables.{table}")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _duck_type(table: str, column: str, kusto: str) -> str:
    if kusto not in TYPE_MAP:
        raise ValueError(f"kql/schema.json: {table}.{column}: unknown Kusto type {kusto!r}")
    return TYPE_MAP[kusto]


def _cell(value: Any, kusto: str, where: str, problems: list[str]) -> Any:
    """A row value as DuckDB takes it for a column of Kusto type `kusto`; None (and a problem) if not."""
    if value is None:
        # Log Analytics has no null strings: a string column a record did not fill reads as "".
        return "" if kusto == "string" else None
    convert: Callable[[Any], Any] = _CONVERTERS.get(kusto, _as_string)
    try:
        return convert(value)
    except (TypeError, ValueError, ArithmeticError):
        problems.append(f"{where}: {value!r} is not a valid {kusto}")
        return None


def _as_string(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _as_datetime(value: Any) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _as_integer(value: Any) -> int:
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(value)
    return int(value)


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(value)


def _as_dynamic(value: Any) -> str:
    """JSON text. A string that already is a JSON object or array (as exports write them) is kept."""
    if isinstance(value, str):
        try:
            if isinstance(json.loads(value), dict | list):
                return value
        except ValueError:
            pass
    return json.dumps(value, separators=(",", ":"))


def _as_guid(value: Any) -> str:
    return str(uuid.UUID(str(value)))


def _as_timespan(value: Any) -> timedelta:
    """A timedelta, a number of seconds, or .NET TimeSpan text ([-][d.]hh:mm:ss[.fffffff])."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    match = _TIMESPAN.fullmatch(str(value).strip())
    if match is None:
        raise ValueError(value)
    sign, days, hours, minutes, seconds = match.groups()
    span = timedelta(days=int(days or 0), hours=int(hours), minutes=int(minutes), seconds=float(seconds))
    return -span if sign else span


_TIMESPAN = re.compile(r"(-)?(?:(\d+)\.)?(\d+):(\d\d):(\d\d(?:\.\d+)?)")
_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "string": _as_string,
    "datetime": _as_datetime,
    "date": _as_datetime,
    "long": _as_integer,
    "int": _as_integer,
    "real": float,
    "double": float,
    "decimal": Decimal,
    "bool": _as_bool,
    "dynamic": _as_dynamic,
    "timespan": _as_timespan,
    "guid": _as_guid,
}


# --- serialising results --------------------------------------------------------------------------------


def _wire(value: Any, kusto: str) -> Any:
    """A DuckDB value as the Log Analytics API puts it in `rows`."""
    if value is None:
        return None
    if kusto == "datetime":
        if isinstance(value, datetime):
            utc = value.astimezone(UTC) if value.tzinfo else value
            text = utc.strftime("%Y-%m-%dT%H:%M:%S")
            return f"{text}.{utc.microsecond:06d}Z" if utc.microsecond else f"{text}Z"
        if isinstance(value, date):
            return f"{value.isoformat()}T00:00:00Z"
        return str(value)
    if kusto == "dynamic":
        # The service sends dynamic values as compact JSON text. DuckDB gives JSON columns as text
        # (as stored) and LIST/STRUCT results as Python containers.
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return value
        return json.dumps(_jsonable(value), separators=(",", ":"))
    if kusto == "timespan":
        if isinstance(value, time):
            value = timedelta(hours=value.hour, minutes=value.minute, seconds=value.second)
        return _timespan(value) if isinstance(value, timedelta) else str(value)
    if kusto == "real" and isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return _wire(value, "datetime")
    if isinstance(value, timedelta):
        return _timespan(value)
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    return value


def _timespan(value: timedelta) -> str:
    """.NET TimeSpan text, as Kusto writes it: [-][d.]hh:mm:ss[.fffffff]."""
    sign = "-" if value < timedelta(0) else ""
    rest = abs(value)
    hours, seconds = divmod(rest.seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    text = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    if rest.days:
        text = f"{rest.days}.{text}"
    if rest.microseconds:
        text = f"{text}.{rest.microseconds:06d}0"
    return sign + text
