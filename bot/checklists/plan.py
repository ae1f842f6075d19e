"""Job + verdict + execution history -> the checklist's steps, tailored by cause. Pure.

Jobs have no revisions, so the checklist carries what a revision would have given (architecture doc,
"Rollback of a job"): the current definition saved first, the target from execution history with its
diff, a warning that scale rules, secrets and timeouts are not in that history, the pipeline as the way
to roll back when one owns the job, intake limited without suspend/stop, and verification by the bot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.checklists import az
from bot.checklists.images import parse_image
from bot.checklists.model import Checklist, Refused, Step, StepKind, Target, opened
from bot.evidence import executions as ex
from bot.evidence.activity import container_diff
from bot.evidence.change_revert import restored_by_image_rollback, revert_commands_for
from bot.model import NO_ROLLBACK_CAUSES, Cause, Container, Execution, Job, Owners, Runbook, Verdict
from bot.respond.change_lines import diff_lines
from bot.text import is_mention

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
    """Why no rollback checklist is offered for this verdict; None when one is. When the change can be
    undone another way (a property, a role assignment), the refusal carries the commands to do it."""
    cause = verdict.cause.value
    if verdict.cause in NO_ROLLBACK_CAUSES:
        return f"A rollback would not help: the verdict is `{cause}` ({verdict.summary})"
    if verdict.suspected_change is None:
        return (f"No change to the job was found before the failures, so there is nothing to roll back "
                f"(verdict `{cause}`: {verdict.summary})")
    if verdict.rollback_candidate is None:
        change = verdict.suspected_change
        commands = revert_commands_for(change, job_id)
        if commands or not restored_by_image_rollback(change):
            how = ("; to undo it, a person runs: " + " ; ".join(f"`{c}`" for c in commands)) if commands else ""
            return (f"An image rollback would not undo this change ({change.what}): it is not in the job's "
                    f"template{how}")
        return ("No last known good image: no execution succeeded before the failures began, in the history "
                "Azure keeps (about the last 100 executions)")
    return None


def offers_rollback(verdict: Verdict, job_id: str = "") -> bool:
    return rollback_refusal(verdict, job_id) is None


def build_checklist(facts: PlanFacts, *, checklist_id: str, channel: str, opened_by: str,
                    now: datetime) -> Checklist:
    """The checklist for this job and verdict, with its first timeline entry. Raises Refused when the
    verdict offers no rollback."""
    refusal = rollback_refusal(facts.verdict)
    if refusal is not None:
        raise Refused(refusal + ".")
    target, last_good = rollback_target(facts)
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
        steps=plan_steps(facts, target, last_good),
        queue_baseline=None if queue is None else queue.depth,
        queue_capacity=None if queue is None else queue.capacity,
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


def plan_steps(facts: PlanFacts, target: Target, last_good: Execution | None) -> tuple[Step, ...]:
    job, verdict = facts.job, facts.verdict
    pipeline = pipeline_of(job)
    steps = [
        Step(StepKind.LEAD, "Name an incident lead",
             "Press *I'll lead* to take it: the lead decides when the rollback is applied and closes the checklist."),
        Step(StepKind.EVIDENCE, "Capture evidence",
             "jobbot posted a snapshot of the job's configuration and recent executions in the thread (env names "
             "only, never values). Also save the full definition into the thread: jobs have no revisions, so this "
             "file is the only undo point.", commands=(az.show_job(job.ref),)),
        _cause_step(verdict, facts.runbook),
        _target_step(target),
        _registry_step(target.image),
        _intake_step(job, facts.queue),
        _apply_step(job, target, last_good, pipeline, _property_reverts(verdict, job)),
        _persist_step(target, pipeline),
        _verify_step(target, facts.queue),
    ]
    if _replay_needed(verdict, facts.queue):
        steps.append(_replay_step(facts.queue))
    steps += [
        Step(StepKind.NOTIFY, "Tell the owners",
             "Say in the channel what broke, the rollback and what jobbot verified, and tag the owners:",
             mentions=approvers(facts.owners) or tuple(_owner_names(facts.owners))),
        Step(StepKind.CLOSE, "Close the checklist",
             "Posts the timeline (who did what, when) in the thread, and as Markdown for the post-incident "
             "review. Every other step must be done or skipped first."),
    ]
    return tuple(steps)


def _cause_step(verdict: Verdict, runbook: Runbook | None) -> Step:
    confirm = CONFIRM.get(verdict.cause, "Confirm the verdict against the triage report before acting on it.")
    change = verdict.suspected_change
    parts = [f"Verdict `{verdict.cause.value}` ({verdict.confidence.value} confidence)."]
    if change is not None:
        who = f" by {change.caller}" if change.caller else ""
        parts.append(f"Suspected change{who}: {change.what}.")
        diff = diff_lines(change)
        if diff:
            parts.append("Changed: " + "; ".join(f"`{line}`" if not line.startswith("+") else line for line in diff)
                         + ".")
    parts.append(confirm)
    if runbook is not None:
        parts.append(f"Runbook: {runbook.title}.")
    return Step(StepKind.CAUSE, "Confirm the cause", " ".join(parts))


def _target_step(target: Target) -> Step:
    when = f"last succeeded {_time(target.last_success)}" if target.last_success else "last success time unknown"
    where = f" in execution `{target.execution}`" if target.execution else ""
    lines = [f"Last known good image `{target.image}`: {when}{where}."]
    if target.current_image:
        lines.append(f"Today the job runs `{target.current_image}`.")
        if target.current_image == target.image:
            lines.append("That is the same image: the change is elsewhere (scale rule, secrets, timeouts); rolling "
                         "the image back will not undo it.")
    lines.append("Last good → today: " + "; ".join(target.diff) + ".")
    lines.append("Scale rules, secrets and timeouts are not recorded in execution history: compare them with "
                 "infrastructure-as-code before rolling back.")
    return Step(StepKind.TARGET, "Confirm the target", " ".join(lines))


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


def _persist_step(target: Target, pipeline: str | None) -> Step:
    what = ", ".join(line for line in target.diff if "unchanged" not in line and "not " not in line) or "the image"
    where = (f"the pipeline (`{pipeline}`)" if pipeline
             else "the pipeline or infrastructure-as-code that defines the job")
    return Step(StepKind.PERSIST, "Make the rollback stick",
                f"Revert the change in {where} ({what}), or the next deploy undoes the rollback.")


def _verify_step(target: Target, queue: QueueFacts | None) -> Step:
    drains = (f"the queue `{queue.namespace}/{queue.entity}` drains ({queue.depth} messages when the checklist "
              "opened)") if queue else "the queue drains (when jobbot can read it)"
    return Step(StepKind.VERIFY, "Verify (checked by jobbot)",
                f"jobbot checks with read-only calls: the job runs `{target.image}` (ARM GET of the job); executions "
                f"started after the rollback succeed; {drains}. This step ticks only when those checks pass. "
                "Press *Check now* at any time.")


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


def _owner_names(owners: Owners | None) -> list[str]:
    if owners is None:
        return []
    return [m for m in (owners.primary, *owners.escalation) if m]


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
