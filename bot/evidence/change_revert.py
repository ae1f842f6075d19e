"""What undoing a suspected change takes: the commands for a person, and whether an image rollback does it.

An image rollback restores what execution templates hold (image, cpu/memory, env); scale rules, timeouts,
identities and role assignments are not in them, and need their own revert.
"""

from __future__ import annotations

from bot.evidence.change_commands import revert_commands
from bot.evidence.change_kinds import resource_kind
from bot.evidence.change_records import ChangeRecord, ChangeSource
from bot.evidence.payloads import SuspectedChange

TEMPLATE = "properties.template."


def template_paths_only(change: SuspectedChange) -> bool:
    """Every known property change is inside the job's template (what an image rollback puts back)."""
    return all(c.path.startswith(TEMPLATE) for c in change.changes)


def restored_by_image_rollback(change: SuspectedChange) -> bool:
    """An image rollback undoes the change: a job write whose known changes touch the template (or whose
    properties are unknown: then the templates are the best evidence of what to go back to)."""
    if change.resource is not None or (change.operation or "").upper() not in ("", "MICROSOFT.APP/JOBS/WRITE"):
        return False
    return not change.changes or any(c.path.startswith(TEMPLATE) for c in change.changes)


def revert_commands_for(change: SuspectedChange, job_id: str) -> tuple[str, ...]:
    """Paste-ready commands that put back what the change did outside an image rollback."""
    resource = change.resource or job_id
    record = ChangeRecord(time=change.time, resource_id=resource, kind=resource_kind(resource),
                          operation=change.operation or "", caller=change.caller, caller_kind=change.caller_kind,
                          source=change.source or ChangeSource.EXECUTIONS,
                          changes=tuple(c for c in change.changes if not c.path.startswith(TEMPLATE)))
    return revert_commands(record) if record.changes or record.kind.value != "job" else ()
