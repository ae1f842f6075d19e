"""Batch across jobs: the same canned query for several jobs goes to Log Analytics once.

An alert storm or an environment-wide incident triages many jobs at once, and each asks Log Analytics the
same questions about its own job: 12 jobs × 5 query kinds would queue in the service's 5-query limit. A
query that declares `// batch: jobs` takes a list of jobs and returns their rows told apart by `JobName`,
so the asks that arrive together (the DataLoader pattern) become one query per kind:

- a batch collects for `window_s` (tens of milliseconds) — but only when another triage is running: a
  lone triage's query leaves at once and pays nothing;
- asks join a batch only with the same workspace, query, window and other parameters; their lists (`jobs`,
  or `config_changes`' resource ids, dependency names and subscriptions) are merged;
- each ask gets its own job's rows, exactly those the query for that job alone returns — split by `JobName`
  here, or (`// batch: lists`) picked by the caller (`bot.evidence.activity_scope`). The file's cap (`take N`)
  is the whole batch's, so a batch that reached it may have lost some ask's rows, and then every ask of it
  is asked alone (rare: the caps are ten times what one job needs);
- an error reaches every ask of the batch, as the error of its own query would.

`rows_of` is the other half: the rows of one job, without the `JobName` column, as a check reads them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.evidence.combined_logs import query_combined
from bot.evidence.limiter import Ticket, current_ticket, new_ticket, start_read
from bot.evidence.ports import LogsReader
from bot.kql import load_query
from bot.kql_combined import Part
from bot.model import QueryResult, Window

JOBS = "jobs"  # the parameter a batched query takes
JOB_COLUMN = "JobName"  # the column its rows say their job in
DEFAULT_WINDOW_S = 0.05


def rows_of(result: QueryResult, job: str) -> QueryResult:
    """`job`'s rows of a batched query's `result`, without the job column (names compared as Azure does,
    ignoring case)."""
    wanted = job.lower()
    rows = tuple({k: v for k, v in row.items() if k != JOB_COLUMN}
                 for row in result.rows if str(row.get(JOB_COLUMN, "")).lower() == wanted)
    return QueryResult(rows, result.partial)


def split_by_job(result: QueryResult, jobs: Sequence[str]) -> dict[str, QueryResult]:
    """The batch's rows per job (keyed by the lower-cased name), the job column kept (a batch of one
    answers exactly what the query for that job alone does)."""
    per_job: dict[str, list[Mapping[str, Any]]] = {job.lower(): [] for job in jobs}
    for row in result.rows:
        rows = per_job.get(str(row.get(JOB_COLUMN, "")).lower())
        if rows is not None:
            rows.append(row)
    return {job: QueryResult(tuple(rows), result.partial) for job, rows in per_job.items()}


@dataclass(slots=True)
class _Batch:
    ticket: Ticket  # the batch's place in jobbot's queues: every ask's ticket follows it
    asks: list[Mapping[str, object]] = field(default_factory=list)  # each ask's own parameters
    task: asyncio.Task[list[QueryResult]] | None = None  # one answer per ask, in order
    ready: asyncio.Event = field(default_factory=asyncio.Event)  # set once `task` exists


class BatchedLogs:
    """LogsReader: asks for a batched query that arrive together become one query."""

    def __init__(self, inner: LogsReader, *, window_s: float = DEFAULT_WINDOW_S,
                 crowded: Callable[[], bool] = lambda: True) -> None:
        """`crowded()`: whether other triages may ask too (else a query leaves at once)."""
        self._inner = inner
        self._window_s = window_s
        self._crowded = crowded
        self._open: dict[tuple[Any, ...], _Batch] = {}
        self.batches = 0  # queries sent for more than one ask (for benches and tests)

    async def query(
        self, workspace_id: str, query_name: str, params: Mapping[str, object], window: Window
    ) -> QueryResult:
        canned = load_query(query_name)
        lists = canned.list_params
        if not self._window_s or canned.batch is None \
                or not all(isinstance(params.get(name), list | tuple) for name in lists):
            return await self._inner.query(workspace_id, query_name, params, window)
        rest = tuple(sorted((k, repr(v)) for k, v in params.items() if k not in lists))
        key = (workspace_id.lower(), query_name, rest, window.start, window.end)
        batch = self._open.get(key)
        if batch is None:
            batch = self._open[key] = _Batch(new_ticket())
            delay = self._window_s if self._crowded() else 0.0
            asyncio.get_running_loop().call_later(delay, self._send, key, batch, workspace_id, query_name, window)
        mine = len(batch.asks)
        batch.asks.append(params)
        if (ticket := current_ticket()) is not None:
            ticket.follow(batch.ticket)
        await batch.ready.wait()
        assert batch.task is not None
        # shield: one ask giving up (its check's deadline) must not cancel the query for the others.
        answers = await asyncio.shield(batch.task)
        return answers[mine]

    async def query_combined(self, workspace_id: str, parts: Sequence[Part], window: Window) -> list[QueryResult]:
        """Straight through: a combined request is one job's (a review's), with nothing to batch it with."""
        return await query_combined(self._inner, workspace_id, parts, window)

    def _send(self, key: tuple[Any, ...], batch: _Batch, workspace_id: str, query_name: str,
              window: Window) -> None:
        if self._open.get(key) is batch:
            del self._open[key]
        canned = load_query(query_name)
        asks = list(batch.asks)

        async def ask(params: Mapping[str, object]) -> QueryResult:
            return await self._inner.query(workspace_id, query_name, params, window)

        async def run() -> list[QueryResult]:
            if len(asks) == 1:
                return [await ask(asks[0])]
            self.batches += 1
            merged = {**asks[0], **{name: _union(a[name] for a in asks) for name in canned.list_params}}
            result = await ask(merged)
            if canned.row_cap is not None and len(result.rows) >= canned.row_cap:
                # The cap cut the batch: an ask may have lost rows it would have had alone.
                return list(await asyncio.gather(*(ask(a) for a in asks)))
            if canned.batch == "jobs":
                return [_rows_of_jobs(result, a[JOBS]) for a in asks]
            return [result] * len(asks)  # each caller picks its own rows (bot.evidence.activity_scope)

        batch.task = start_read(run, batch.ticket)
        batch.task.add_done_callback(_consume)
        batch.ready.set()


def _union(lists: Iterable[object]) -> list[str]:
    """The asks' lists merged: each value once (compared ignoring case, as the queries do), sorted."""
    merged: dict[str, str] = {}
    for values in lists:
        for value in values:  # type: ignore[attr-defined]
            merged.setdefault(str(value).lower(), str(value))
    return sorted(merged.values(), key=str.lower)


def _rows_of_jobs(result: QueryResult, jobs: object) -> QueryResult:
    wanted = {str(j).lower() for j in jobs}  # type: ignore[attr-defined]
    return QueryResult(tuple(r for r in result.rows if str(r.get(JOB_COLUMN, "")).lower() in wanted), result.partial)


def _consume(task: asyncio.Task[Any]) -> None:
    # Every ask may have given up already: the error is theirs to see, not the loop's to log.
    if not task.cancelled():
        task.exception()
