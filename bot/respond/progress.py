"""`jobbot triage` on a terminal: one line per finished check on stderr, so a slow read is visibly slow.

Only when stderr is a terminal: a pipe or a file (CI, `| jq`) gets nothing, and stdout stays the report.
"""

from __future__ import annotations

import shutil
import sys
from typing import TextIO

from bot.evidence.runner import OnResult
from bot.model import CheckResult
from bot.respond.text import MARKS


def check_progress(stream: TextIO | None = None) -> OnResult | None:
    """A callback printing each finished check, or None when `stream` (default stderr) is not a terminal."""
    out = sys.stderr if stream is None else stream
    if not out.isatty():
        return None
    width = max(40, shutil.get_terminal_size((100, 24)).columns)

    async def show(result: CheckResult) -> None:
        line = f"  [{MARKS[result.status]}] {result.name:<17} {result.summary}"
        out.write((line if len(line) <= width else line[: width - 1] + "…") + "\n")
        out.flush()

    return show
