"""Which change to name for a failure mode: the one that explains it, not simply the latest write.

With no change that explains the failure mode, the change check's own choice stands (the newest write of
the job before the trouble, then access and dependency changes, then a manual start/stop). Either way the
other changes in the window follow, most likely first: the on-call rule is to undo one thing at a time.
"""

from __future__ import annotations

from dataclasses import replace

from bot.evidence.change_evidence import as_suspected
from bot.evidence.change_match import explains, rank
from bot.evidence.change_records import ChangeRecord, ResourceKind
from bot.evidence.payloads import ConfigChangesEvidence, SuspectedChange
from bot.model import Cause

ALSO_SHOWN = 5


def suspected_for(cause: Cause, evidence: ConfigChangesEvidence) -> SuspectedChange | None:
    job_id = _job_id(evidence)
    before = [r for r in evidence.records if _before(r, evidence)]
    ranked = rank(cause.value, before, trouble_began=evidence.trouble_began)
    default = evidence.suspected_change
    if ranked and explains(cause.value, ranked[0]):
        chosen: SuspectedChange = as_suspected(ranked[0], job_id)
        others = ranked[1:]
    elif default is not None:
        chosen = default
        others = [r for r in ranked if not _same(r, default)]
    else:
        return None
    return replace(chosen, also=tuple(as_suspected(r, job_id) for r in others[:ALSO_SHOWN]))


def _before(record: ChangeRecord, evidence: ConfigChangesEvidence) -> bool:
    trouble = evidence.trouble_began
    return trouble is None or record.time is None or record.time <= trouble


def _same(record: ChangeRecord, change: SuspectedChange) -> bool:
    """The record the default change was built from (same moment and operation, or the same template diff)."""
    if change.source is record.source and change.changes and change.changes == record.changes:
        return True
    return record.time == change.time and record.operation.upper() == (change.operation or "").upper()


def _job_id(evidence: ConfigChangesEvidence) -> str:
    # Records of the job carry its id; "resource" is set only for what is not the job.
    job_records = [r.resource_id for r in evidence.records if r.kind is ResourceKind.JOB]
    return job_records[0] if job_records else ""
