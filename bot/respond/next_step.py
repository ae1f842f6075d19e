"""The one next step a responder takes, first in every medium: undo the suspected change, else the runbook's
first step that acts (saving the definition is bookkeeping the rollback checklist does anyway). Pure."""

from __future__ import annotations

from dataclasses import dataclass

from bot.evidence.change_revert import revert_commands_for
from bot.model import NO_ROLLBACK_CAUSES, TriageReport

_BOOKKEEPING = ("Save the current definition",)


@dataclass(frozen=True, slots=True)
class NextStep:
    text: str  # what to do (runbook steps carry their own markdown)
    command: str | None = None  # a paste-ready command that does it, shown as code
    more: int = 0  # further commands of the same undo, listed with the change

    def plain(self) -> str:
        tail = f" (and {self.more} more below)" if self.more else ""
        return f"{self.text} {self.command}{tail}" if self.command else self.text


def next_step(report: TriageReport) -> NextStep | None:
    verdict = report.verdict
    change = verdict.suspected_change
    if change is not None and verdict.cause not in NO_ROLLBACK_CAUSES:
        if verdict.rollback_candidate is not None:
            return NextStep(f"Undo the suspected change: roll back to {verdict.rollback_candidate.image} "
                            "(the rollback checklist walks it, step by step).")
        reverts = revert_commands_for(change, report.job.id)
        if reverts:
            return NextStep("Undo the suspected change:", reverts[0], len(reverts) - 1)
    steps = report.runbook.steps if report.runbook else ()
    step = next((s for s in steps if not s.startswith(_BOOKKEEPING)), steps[0] if steps else None)
    return NextStep(step) if step else None
