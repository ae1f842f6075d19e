"""Several canned queries of one window as one Log Analytics request, where the reader can send them so.

A reader that can (`query_combined`, the Azure adapter and the layers in front of it) sends them as one
query (`bot.kql_combined`); any other (test fakes) runs them one by one, with the same answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.evidence.ports import LogsReader
from bot.kql_combined import Part
from bot.model import QueryResult, Window


async def query_combined(reader: LogsReader, workspace_id: str, parts: Sequence[Part],
                         window: Window) -> list[QueryResult]:
    """Each part's rows, as `reader.query` would give them alone."""
    combined = getattr(reader, "query_combined", None)
    if combined is not None:
        answers: list[QueryResult] = await combined(workspace_id, parts, window)
        return answers
    return list(await asyncio.gather(*(reader.query(workspace_id, name, params, window) for name, params in parts)))
