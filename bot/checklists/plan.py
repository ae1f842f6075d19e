"""Job + verdict + execution history -> the checklist's steps, tailored by cause. Pure.

Jobs have no revisions, so the checklist carries what a revision would have given (architecture doc,
"Rollback of a job"): the current definition saved first, the target from execution history with its
diff, a warning that scale rules, secrets and timeouts are not in that history, the pipeline as the way
to roll back when one owns the job, intake limited without suspend/stop, and verification by the bot.

When the suspected change is not in the template (a timeout, a scale rule, an identity, a role assignment,
the environment's workload profile), the checklist reverts those properties instead (`reverts.py`).
Either way it opens with what jobbot already did marked done by jobbot with its evidence (snapshot, cause,
target), so the team starts at a decision: confirm -> act -> verify, the command by the fourth open step.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.checklists import az
from bot.checklists.images import parse_image
from bot.checklists.model import BOT, Checklist, Refused, Revert, Step, StepKind, StepStatus, Target, opened
from bot.checklists.reverts import config_refusal, explains, reverts_for
from bot.evidence import executions as ex
from bot.evidence.activity import container_diff
from bot.evidence.change_commands import shell_word
from bot.evidence.change_revert import restored_by_image_rollback, revert_commands_for
from bot.model import (
    NO_ROLLBACK_CAUSES,
    Cause,
    Container,
    Execution,
    Job,
    Owners,
    Runbook,
    SuspectedChange,
    Verdict,
)
from bot.respond.change_lines import diff_lines, provenance
from bot.text import is_mention, one_line, utc_minute

RECHECK_AFTER_MIN = (5, 15, 30)
# Tags that say something else deploys the job: a hand-made rollback is undone by its next run.
PIPELINE_TAGS = ("pipeline", "deployed-by", "managed-by", "jobbot-pipeline")

# How to confirm the verdict before acting on it, per cause (the runbook has the long form).
CONFIRM: Mapping[Cause, str] = {
    Cause.OOM: "Confirm memory is the killer: peak `Usage Bytes` against the memory limit is in the triage "
               "report; exit 137 without memory evidence can also be a kill after the stop grace period or a "
               "node loss.",
    Cause.TIMEOUT: "Confirm executions hit `replicaTimeout` (DeadlineExceeded, exit 143 after the limit) since the "
                   "change, and not because something downstream got slow.",
    Cause.IMAGE_PULL: "Confirm the new image cannot be pulled (ErrImagePull / ImagePullBackOff in the system logs) "
                      "while the last good one still can.",
    Cause.APP_ERROR: "Confirm the failures come from the workload's own code since the change: the same error in "
                     "the console output of the new image only.",
    Cause.IDENTITY: "Confirm the access failures began with the change (Key Vault references, registry pulls with "
                    "an identity, 401/403 from the workload's own calls).",
    Cause.SCALER_FAILURE: "Confirm the scale rule cannot read the event source since the change. Scale rules are "
                          "not in execution history: compare the rule with infrastructure-as-code.",
    Cause.POISON_MESSAGE: "Confirm the new code broke the handling of some messages: a rollback helps only then, "
                          "not for messages that fail on every version.",
    Cause.STUCK_EXECUTION: "Confirm executions hang on the new image (Running far beyond `replicaTimeout`), not on "
                           "a dependency.",
}


@dataclass(frozen=True, slots=True)
class QueueFacts:
    """The event source as the triage measured it when the checklist opened."""

    source_type: str  # azure-queue | azure-servicebus
    namespace: str
    entity: str
    depth: int
    dead_letter: int | None
    capacity: int | None  # queueLength x maxExecutions


@dataclass(frozen=True, slots=True)
class PlanFacts:
    job: Job
    verdict: Verdict
    history: tuple[Execution, ...]
    owners: Owners | None
    runbook: Runbook | None
    queue: QueueFacts | None


def rollback_refusal(verdict: Verdict, job_id: str = "") -> str | None:
    """Why no rollback checklist is offered for this verdict; None when one is: an image rollback to the
    last known good image, or a revert of the configuration or access the suspected change set."""
    cause = verdict.cause.value
    change = verdict.suspected_change
    if verdict.cause in NO_ROLLBACK_CAUSES and not _config_revert_helps(verdict, job_id):
        return f"A rollback would not help: the verdict is `{cause}` ({verdict.summary})"
    if change is None:
        return (f"No change to the job was found before the failures, so there is nothing to roll back "
                f"(verdict `{cause}`: {verdict.summary})")
    if verdict.rollback_candidate is None:
        if restored_by_image_rollback(change):
            return ("No last known good image: no execution succeeded before the failures began, in the history "
                    "Azure keeps (about the last 100 executions)")
        why = config_refusal(change, job_id)
        if why is not None:
            return f"An image rollback would not undo this change, and {why}"
    return None


def offers_rollback(verdict: Verdict, job_id: str = "") -> bool:
    return rollback_refusal(verdict, job_id) is None


def _config_revert_helps(verdict: Verdict, job_id: str) -> bool:
    """For a cause no rollback helps in general (capacity …), a revert still helps when the suspected change
    is the kind that explains it (the environment's workload profile cut) and can be put back."""
    change = verdict.suspected_change
    return (change is not None and verdict.rollback_candidate is None and not restored_by_image_rollback(change)
            and explains(verdict.cause, change, job_id) and config_refusal(change, job_id) is None)


def build_checklist(facts: PlanFacts, *, checklist_id: str, channel: str, opened_by: str,
                    now: datetime) -> Checklist:
    """The checklist for this job and verdict, with its first timeline entries. Raises Refused when the
    verdict offers no rollback."""
    refusal = rollback_refusal(facts.verdict, facts.job.ref.id)
    if refusal is not None:
        raise Refused(refusal + ".")
    change = facts.verdict.suspected_change
    reverts = reverts_for(change, facts.job.ref.id) if change is not None else ()
    if facts.verdict.rollback_candidate is not None:
        target, last_good = rollback_target(facts)
        steps = plan_steps(facts, target, last_good, now)
    else:
        assert change is not None  # checked by rollback_refusal
        current = facts.job.containers[0].image if facts.job.containers else None
        # No image to go back to: the diff is the change to undo, in one line, then property by property.
        target = Target(None, current, None, None, (change.what, *diff_lines(change)))
        steps = revert_steps(facts, reverts, now)
    queue = facts.queue
    return opened(Checklist(
        id=checklist_id,
        job=facts.job.ref,
        cause=facts.verdict.cause,
        summary=facts.verdict.summary,
        target=target,
        approvers=approvers(facts.owners),
        channel=channel,
        opened_by=opened_by,
        opened_at=now,
        steps=steps,
        queue_baseline=None if queue is None else queue.depth,
        queue_capacity=None if queue is None else queue.capacity,
        reverts=reverts,
    ))


def rollback_target(facts: PlanFacts) -> tuple[Target, Execution | None]:
    candidate = facts.verdict.rollback_candidate
    assert candidate is not None  # checked by rollback_refusal
    last_good = _last_good(facts.history, candidate.execution, candidate.image)
    current = facts.job.containers[0].image if facts.job.containers else None
    diff = describe_diff(last_good.containers if last_good else (), facts.job)
    return Target(candidate.image, current, candidate.last_success, candidate.execution, tuple(diff)), last_good


def describe_diff(last_good: Sequence[Container], job: Job) -> list[str]:
    """Last good template -> today's job: image, cpu/memory, env names, and the scale rule (not in history)."""
    lines = container_diff(last_good, job.containers) if last_good else []
    if not last_good:
        lines.append("the last good execution's template is not in the history: compare with infrastructure-as-code")
    else:
        old, new = last_good[0], job.containers[0] if job.containers else None
        if new is not None and not any("cpu" in line or "memory" in line for line in lines):
            lines.append(f"cpu/memory unchanged ({_resources(new)})")
        if new is not None and old.env_names and new.env_names and not any(" env " in f" {line}" for line in lines):
            lines.append(f"env names unchanged ({', '.join(new.env_names)})")
        elif new is not None and not (old.env_names and new.env_names):
            lines.append("env names: not listed on both sides, not compared")
    lines.append(f"scale rule today: {_scale(job)} (not recorded in execution history)")
    return lines


def approvers(owners: Owners | None) -> tuple[str, ...]:
    """The owners that can approve: Slack user and user-group mentions (a plain name cannot be checked)."""
    if owners is None:
        return ()
    named = [m for m in (owners.primary, *owners.escalation) if m and is_mention(m)]
    return tuple(dict.fromkeys(named))


def pipeline_of(job: Job) -> str | None:
    lowered = {k.lower(): v for k, v in job.tags.items()}
    for tag in PIPELINE_TAGS:
        if lowered.get(tag):
            return f"{tag}: {lowered[tag]}"
    return None


# --- the steps -------------------------------------------------------------------------------------


def plan_steps(facts: PlanFacts, target: Target, last_good: Execution | None, now: datetime) -> tuple[Step, ...]:
    """An image rollback: what jobbot already did (done, with its evidence), then the team's steps in the
    order confirm -> act -> verify; the rollback command is the fourth of them at the latest."""
    job, verdict = facts.job, facts.verdict
    pipeline = pipeline_of(job)
    assert target.image is not None
    steps = [
        _evidence_step(job, now),
        _cause_step(verdict, now),
        _target_step(target, now),
        _decision_step(verdict, facts.runbook),
        _registry_step(target.image),
        _intake_step(job, facts.queue),
        _apply_step(job, target, last_good, pipeline, _property_reverts(verdict, job)),
        _persist_step(target, pipeline),
        _verify_step(target, facts.queue, _property_reverts(verdict, job)),
    ]
    return tuple(steps + _closing_steps(facts))


def revert_steps(facts: PlanFacts, reverts: tuple[Revert, ...], now: datetime) -> tuple[Step, ...]:
    """A revert of configuration or access (the image stays): the same shape, with the revert commands."""
    job, verdict = facts.job, facts.verdict
    change = verdict.suspected_change
    assert change is not None  # checked by rollback_refusal
    pipeline = pipeline_of(job)
    steps = [
        _evidence_step(job, now),
        _cause_step(verdict, now),
        _what_to_revert_step(change, now),
        _decision_step(verdict, facts.runbook),
    ]
    if not _touches_intake(verdict, reverts):
        steps.append(_intake_step(job, facts.queue))
    steps += [
        _revert_step(change, tuple(_fill_known(c, job) for c in revert_commands_for(change, job.ref.id)), pipeline),
        _persist_revert_step(change, pipeline),
        _verify_revert_step(change, reverts, facts.queue),
    ]
    return tuple(steps + _closing_steps(facts))


def _closing_steps(facts: PlanFacts) -> list[Step]:
    steps = []
    if _replay_needed(facts.verdict, facts.queue):
        steps.append(_replay_step(facts.queue))
    steps += [
        Step(StepKind.NOTIFY, "Tell the owners",
             "Say in the channel what broke, what was rolled back and what jobbot verified, and tag the owners:",
             mentions=approvers(facts.owners) or tuple(_owner_names(facts.owners))),
        Step(StepKind.CLOSE, "Close the checklist",
             "Posts the timeline (who did what, when) in the thread, and as Markdown for the post-incident "
             "review. Every other step must be done or skipped first."),
    ]
    return steps


# --- what jobbot did before anyone clicked: done, by jobbot, with its evidence ---------------------------


def _bot_done(kind: StepKind, title: str, evidence: str, now: datetime, detail: str = "",
              commands: tuple[str, ...] = ()) -> Step:
    return Step(kind, title, detail, commands=commands, status=StepStatus.DONE, by=BOT, at=now,
                evidence=evidence)


def _evidence_step(job: Job, now: datetime) -> Step:
    return _bot_done(StepKind.EVIDENCE, "Save the current definition",
                     "saved the current definition: the snapshot is posted in this message's thread (configuration "
                     "and recent executions; env names only, never values)",
                     now, "Jobs have no revisions, so this is the undo point. For the full file (keep it private: it "
                     "holds env values), run:", commands=(az.show_job(job.ref),))


def _cause_step(verdict: Verdict, now: datetime) -> Step:
    evidence = f"cause: {verdict.cause.value}, {verdict.confidence.value} confidence: {one_line(verdict.summary)}"
    change = verdict.suspected_change
    parts: list[str] = []
    if change is not None:
        who = f" by {change.caller}" if change.caller else ""
        when = f" at {utc_minute(change.time)}" if change.time else ""
        parts.append(f"Suspected change{who}{when}: {change.what}.")
        diff = diff_lines(change)
        if diff:
            parts.append("Changed: " + "; ".join(f"`{line}`" if not line.startswith("+") else line for line in diff)
                         + ".")
    return _bot_done(StepKind.CAUSE, "Find the cause", evidence, now, " ".join(parts))


def _target_step(target: Target, now: datetime) -> Step:
    when = f"last succeeded {utc_minute(target.last_success)}" if target.last_success else "last success time unknown"
    where = f" in execution `{target.execution}`" if target.execution else ""
    evidence = f"target `{target.image}` from execution history: {when}{where}"
    lines = []
    if target.current_image:
        lines.append(f"Today the job runs `{target.current_image}`.")
        if target.current_image == target.image:
            lines.append("That is the same image: the change is elsewhere (scale rule, secrets, timeouts); rolling "
                         "the image back will not undo it.")
    lines.append("Last good → today: " + "; ".join(target.diff) + ".")
    lines.append("Scale rules, secrets and timeouts are not recorded in execution history: compare them with "
                 "infrastructure-as-code before rolling back.")
    return _bot_done(StepKind.TARGET, "Choose the target", evidence, now, " ".join(lines))


def _what_to_revert_step(change: SuspectedChange, now: datetime) -> Step:
    source = provenance(change)
    evidence = f"what to revert: {change.what}" + (f" ({source})" if source else "")
    diff = diff_lines(change)
    detail = ("Changed: " + "; ".join(f"`{line}`" if not line.startswith("+") else line for line in diff) + ". "
              if diff else "")
    return _bot_done(StepKind.TARGET, "Find what to revert", evidence, now,
                     detail + "The revert sets each back to its value before the change. The image stays: an image "
                     "rollback would not undo this change.")


# --- the team's steps: confirm -> act -> verify ----------------------------------------------------------


def _decision_step(verdict: Verdict, runbook: Runbook | None) -> Step:
    confirm = CONFIRM.get(verdict.cause, "Confirm the verdict against the triage report before acting on it.")
    parts = ["The incident lead decides from jobbot's evidence above. *Go — I'll lead* takes the lead and goes "
             "ahead; *No-go…* stops here, with the reason (it goes into the timeline). The lead decides when the "
             "rollback is applied and closes the checklist.", confirm]
    if runbook is not None:
        parts.append(f"Runbook: {runbook.title}.")
    return Step(StepKind.LEAD, "Go / no-go: the incident lead decides", " ".join(parts))


def _registry_step(image: str) -> Step:
    ref = parse_image(image)
    if ref.digest:
        return Step(StepKind.REGISTRY, "Check the target image still exists",
                    f"The target is pinned by digest already; confirm `{image}` still exists in the registry.")
    command = az.acr_digest(ref)
    where = ref.registry or "Docker Hub"
    detail = (f"A tag can be moved or deleted: confirm `{image}` still exists in {where} and pin it by digest "
              "where you can (use `…@sha256:…` in the rollback command).")
    return Step(StepKind.REGISTRY, "Check the target image still exists", detail,
                commands=(command,) if command else ())


def _intake_step(job: Job, queue: QueueFacts | None) -> Step:
    detail = ("Only if failing executions harm something downstream or waste work while the rollback lands. Do not "
              "suspend or stop the job: after those, event scaling has been seen to stay off. Restore intake after "
              "the verification.")
    if queue is not None and queue.source_type == "azure-servicebus":
        group = job.ref.resource_group  # the namespace's group is usually the job's; adjust if not
        commands = (az.servicebus_status(queue.namespace, queue.entity, "ReceiveDisabled", group),
                    az.servicebus_status(queue.namespace, queue.entity, "Active", group))
        detail = f"Disable receiving on `{queue.namespace}/{queue.entity}`, then re-enable it. " + detail
    else:
        commands = (az.set_max_executions(job.ref, 1), az.set_max_executions(job.ref, job.max_executions))
        detail = f"Lower `maxExecutions` (today {job.max_executions}), then restore it. " + detail
    return Step(StepKind.INTAKE, "Limit intake if needed", detail, commands=commands, needs_approval=True)


def _property_reverts(verdict: Verdict, job: Job) -> tuple[str, ...]:
    """Commands for what the same change did outside the template (a timeout, a scale rule): the image
    rollback alone would leave those."""
    change = verdict.suspected_change
    return revert_commands_for(change, job.ref.id) if change is not None else ()


def _apply_step(job: Job, target: Target, last_good: Execution | None, pipeline: str | None,
                reverts: tuple[str, ...] = ()) -> Step:
    container = last_good.containers[0] if last_good and last_good.containers else None
    today = next((c for c in job.containers if container and c.name.lower() == container.name.lower()), None)
    resources = container if container and today and _resources(container) != _resources(today) else None
    name = container.name if container and len(job.containers) > 1 else None
    assert target.image is not None  # an image rollback
    command = az.update_image(job.ref, target.image, container=name, resources=resources)
    after = (f"Mark this done once the rollback is deployed: jobbot then re-checks at "
             f"{', '.join(f'+{m}' for m in RECHECK_AFTER_MIN)} min and posts the result in the thread.")
    if pipeline:
        detail = (f"A pipeline owns this job (tag `{pipeline}`): roll back through it (redeploy the last good "
                  "release), or its next run undoes the rollback. Only if it cannot run in time, run the command "
                  "below by hand. ")
    else:
        detail = "Run the command below (ready to copy). "
    if reverts:
        detail += "The same change also set properties an image rollback does not restore: the commands after the " \
                  "first put them back. "
    return Step(StepKind.APPLY, "Apply the rollback", detail + after, commands=(command, *reverts),
                needs_approval=True)


def _fill_known(command: str, job: Job) -> str:
    """Fill in what the change record could not know but the job does: a scale rule's type."""
    words = shlex.split(command)
    if "--scale-rule-name" not in words or "--scale-rule-type" not in words:
        return command
    name = words[words.index("--scale-rule-name") + 1]
    rule = next((r for r in job.rules if r.name.lower() == name.lower()), None)
    at = words.index("--scale-rule-type") + 1
    if rule is None or not words[at].startswith("<"):
        return command
    words[at] = rule.type
    return " ".join(shell_word(w) for w in words)


def _touches_intake(verdict: Verdict, reverts: tuple[Revert, ...]) -> bool:
    """Limiting intake (lowering maxExecutions) makes no sense when too little intake is the trouble."""
    return verdict.cause is Cause.SATURATION or any("maxexecutions" in r.path.lower() for r in reverts)


def _revert_step(change: SuspectedChange, commands: tuple[str, ...], pipeline: str | None) -> Step:
    after = (f"Mark this done once the revert is in: jobbot then re-checks at "
             f"{', '.join(f'+{m}' for m in RECHECK_AFTER_MIN)} min and posts the result in the thread.")
    if pipeline and change.resource is None:
        detail = (f"A pipeline owns this job (tag `{pipeline}`): revert through it, or its next run undoes the "
                  "revert. Only if it cannot run in time, run the commands below by hand. ")
    else:
        detail = "Run the commands below (ready to copy; jobbot never runs them, it only reads Azure). "
    if change.resource and "/roleassignments/" in change.resource.lower():
        detail += "It takes someone allowed to assign roles at that scope (Owner or User Access Administrator). "
    return Step(StepKind.APPLY, "Revert the change", detail + after, commands=commands, needs_approval=True)


def _persist_revert_step(change: SuspectedChange, pipeline: str | None) -> Step:
    where = (f"the pipeline (`{pipeline}`)" if pipeline
             else "the pipeline or infrastructure-as-code that defines it")
    return Step(StepKind.PERSIST, "Make the revert stick",
                f"Put the change back in {where} ({change.what}), or the next deploy makes it again.")


def _verify_revert_step(change: SuspectedChange, reverts: tuple[Revert, ...], queue: QueueFacts | None) -> Step:
    drains = (f"the queue `{queue.namespace}/{queue.entity}` drains ({queue.depth} messages when the checklist "
              "opened)") if queue else "the queue drains (when jobbot can read it)"
    n = len(reverts)
    values = f"the {n} propert{'y' if n == 1 else 'ies'} above"
    if change.resource and "/roleassignments/" in change.resource.lower():
        back = "the role assignment exists again (it re-reads the role assignments of the identity)"
    elif change.resource:
        back = f"`{_last_part(change.resource)}` holds {values} as before the change again (ARM GET)"
    else:
        back = f"the job holds {values} as before the change again (ARM GET of the job)"
    return Step(StepKind.VERIFY, "Verify (checked by jobbot)",
                f"jobbot checks with read-only calls: {back}; executions "
                f"started after the revert succeed; {drains}. This step ticks only when those checks pass. Press "
                "*Check now* at any time.")


def _persist_step(target: Target, pipeline: str | None) -> Step:
    what = ", ".join(line for line in target.diff if "unchanged" not in line and "not " not in line) or "the image"
    where = (f"the pipeline (`{pipeline}`)" if pipeline
             else "the pipeline or infrastructure-as-code that defines the job")
    return Step(StepKind.PERSIST, "Make the rollback stick",
                f"Revert the change in {where} ({what}), or the next deploy undoes the rollback.")


def _verify_step(target: Target, queue: QueueFacts | None, reverts: tuple[str, ...] = ()) -> Step:
    drains = (f"the queue `{queue.namespace}/{queue.entity}` drains ({queue.depth} messages when the checklist "
              "opened)") if queue else "the queue drains (when jobbot can read it)"
    also = ", and the properties the same change set are back as before" if reverts else ""
    return Step(StepKind.VERIFY, "Verify (checked by jobbot)",
                f"jobbot checks with read-only calls: the job runs `{target.image}`{also} (ARM GET of the job); "
                f"executions started after the rollback succeed; {drains}. This step ticks only when those checks "
                "pass. Press *Check now* at any time.")


def _replay_needed(verdict: Verdict, queue: QueueFacts | None) -> bool:
    return verdict.cause is Cause.POISON_MESSAGE or bool(queue and queue.dead_letter)


def _replay_step(queue: QueueFacts | None) -> Step:
    where = f" ({queue.dead_letter} on `{queue.namespace}/{queue.entity}`)" if queue and queue.dead_letter else ""
    return Step(StepKind.REPLAY, "Replay dead-lettered messages",
                f"Replay dead-lettered messages{where} only after confirming the work is safe to repeat "
                "(idempotent), once the verification passed.", needs_approval=True)


# --- helpers ---------------------------------------------------------------------------------------


def _last_good(history: Sequence[Execution], name: str | None, image: str) -> Execution | None:
    good = ex.succeeded(ex.newest_first(history))
    return next((e for e in good if name and e.name == name), None) or next((e for e in good if e.image == image),
                                                                            None)


def _resources(container: Container) -> str:
    cpu = "?" if container.cpu is None else f"{container.cpu:g}"
    return f"{cpu} cpu / {container.memory or '?'}"


def _scale(job: Job) -> str:
    if not job.rules:
        return f"{job.trigger_type or 'no'} trigger, no scale rule"
    rule = job.rules[0]
    keys = ("queueName", "topicName", "subscriptionName", "queueLength", "messageCount")
    meta = ", ".join(f"{k} {rule.metadata[k]}" for k in keys if rule.metadata.get(k))
    timeout = f", replicaTimeout {job.replica_timeout_s} s" if job.replica_timeout_s else ""
    return f"{rule.type} `{rule.name}` ({meta}), maxExecutions {job.max_executions}{timeout}"


def _last_part(resource_id: str | None) -> str:
    return (resource_id or "").rstrip("/").rsplit("/", 1)[-1]


def _owner_names(owners: Owners | None) -> list[str]:
    if owners is None:
        return []
    return [m for m in (owners.primary, *owners.escalation) if m]
