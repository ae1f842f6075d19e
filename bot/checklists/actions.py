"""Action ids of the checklist's buttons and views, and the ids a button value carries.

A button value names a checklist and one of its steps, nothing else: what a click does is decided from
stored state, never from text that travelled through Slack (docs/style.md rule 12).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.errors import InvalidRequest


class ActionId(StrEnum):
    START = "jobbot.checklist.start"  # on a triage report; value: the job's ARM id
    DONE = "jobbot.checklist.done"
    SKIP = "jobbot.checklist.skip"  # opens the skip-reason modal
    UNDO = "jobbot.checklist.undo"
    CHECK = "jobbot.checklist.check"  # runs the bot's verification now
    CLOSE = "jobbot.checklist.close"


class ViewId(StrEnum):
    SKIP_REASON = "jobbot.checklist.skip_reason"


# Checklist ids are 32 hex digits (uuid4().hex); step ids are the step kinds' values.
_VALUE = re.compile(r"(?P<checklist>[0-9a-f]{32})/(?P<step>[a-z]{1,20})")


class BadValue(InvalidRequest):
    """A button value or modal metadata that jobbot did not write (or no longer understands)."""


@dataclass(frozen=True, slots=True)
class StepRef:
    checklist: str
    step: str

    def value(self) -> str:
        return f"{self.checklist}/{self.step}"


def parse_value(value: str) -> StepRef:
    """'<checklist id>/<step id>' -> StepRef; anything else raises BadValue."""
    match = _VALUE.fullmatch(value or "")
    if match is None:
        raise BadValue("That button does not belong to a jobbot checklist (or it is from an older version).")
    return StepRef(match["checklist"], match["step"])
