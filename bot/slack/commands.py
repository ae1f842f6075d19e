"""Parse `/jobbot …` text into a typed command, or a usage answer that helps (closest matches)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from bot.errors import InvalidRequest
from bot.intake import DEFAULT_SINCE, JobSpec, parse_job, parse_since
from bot.review.service import parse_window


class Verb(StrEnum):
    TRIAGE = "triage"
    FAILURES = "failures"
    RETRIES = "retries"
    EXITCODES = "exitcodes"
    QUEUE = "queue"
    CHANGES = "changes"
    RUNBOOK = "runbook"
    OWNERS = "owners"
    ROLLBACK = "rollback"
    CHECKLIST = "checklist"
    JOBS = "jobs"
    STATUS = "status"
    REVIEW = "review"
    DOCTOR = "doctor"
    HELP = "help"


# The single checks each narrow subcommand runs (names from the evidence registry).
SINGLE_CHECKS: dict[Verb, tuple[str, ...]] = {
    Verb.FAILURES: ("failures",),
    Verb.RETRIES: ("retries",),
    Verb.EXITCODES: ("exit_codes",),
    Verb.QUEUE: ("queue_depth",),
    Verb.CHANGES: ("config_changes",),
}
TAKES_WINDOW = {Verb.TRIAGE, *SINGLE_CHECKS}
TAKES_JOB = TAKES_WINDOW | {Verb.RUNBOOK, Verb.OWNERS, Verb.ROLLBACK, Verb.CHECKLIST, Verb.REVIEW}

USAGE = {
    Verb.TRIAGE: "triage JOB [since] [fresh]",
    Verb.FAILURES: "failures JOB [since]",
    Verb.RETRIES: "retries JOB [since]",
    Verb.EXITCODES: "exitcodes JOB [since]",
    Verb.QUEUE: "queue JOB",
    Verb.CHANGES: "changes JOB [since]",
    Verb.RUNBOOK: "runbook JOB",
    Verb.OWNERS: "owners JOB",
    Verb.ROLLBACK: "rollback JOB",
    Verb.CHECKLIST: "checklist JOB",
    Verb.JOBS: "jobs",
    Verb.STATUS: "status [ENVIRONMENT | RESOURCE_GROUP]",
    Verb.REVIEW: "review JOB [window]",
    Verb.DOCTOR: "doctor",
    Verb.HELP: "help",
}
DESCRIPTION = {
    Verb.TRIAGE: "all the evidence, a verdict, the runbook and the owners",
    Verb.FAILURES: "failed executions with reasons and exit codes",
    Verb.RETRIES: "executions that needed retries",
    Verb.EXITCODES: "exit-code histogram, each code explained",
    Verb.QUEUE: "queue depth against the scale target",
    Verb.CHANGES: "who changed what, when",
    Verb.RUNBOOK: "the runbook for the job's current verdict",
    Verb.OWNERS: "who owns the job and the escalation chain",
    Verb.ROLLBACK: "a guided rollback checklist: the last good image, or a revert of the changed configuration or "
                   "access (jobbot checks the result)",
    Verb.CHECKLIST: "the job's open rollback checklist",
    Verb.JOBS: "the jobs jobbot knows and their state",
    Verb.STATUS: "every job of an environment or resource group (or all) in one message, worst first, each "
                 "with a Triage button",
    Verb.REVIEW: "five-pillar review (security, cost, reliability, performance, operations) over a window",
    Verb.DOCTOR: "check jobbot's own setup, each problem with its fix (admins: `access.commands.doctor`)",
    Verb.HELP: "this help",
}


@dataclass(frozen=True, slots=True)
class Command:
    verb: Verb
    job: JobSpec | None = None
    since: timedelta | None = None
    fresh: bool = False  # read everything anew, not what another triage read moments ago
    scope: str | None = None  # `status`: an environment's or resource group's name


_SCOPE_NAME = re.compile(r"[A-Za-z0-9._()-]{1,90}")  # Azure's resource group / environment name characters

# The word after a triage's job (and window) that asks for fresh evidence.
FRESH = "fresh"


class UsageError(InvalidRequest):
    """Malformed command text; the message is the help to show (ephemeral)."""


def help_text(command: str = "/jobbot") -> str:
    lines = [f"*{command}* — first response for Container Apps jobs (read-only)"]
    lines += [f"• `{command} {USAGE[v]}` — {DESCRIPTION[v]}" for v in Verb]
    lines.append("`since` is like 30m, 2h or 1d (default 1h, at most 7d); a review's `window` like 48h or 7d "
                 "(default 7d, at most 30d).")
    lines.append("Triages of a job moments apart share what they read from Azure (the report says when: "
                 f"\"evidence from …\"); `{FRESH}` reads everything anew.")
    return "\n".join(lines)


def parse_command(text: str, command: str = "/jobbot") -> Command:
    words = text.split()
    if not words:
        return Command(Verb.HELP)
    head = words[0].lower()
    try:
        verb = Verb(head)
    except ValueError:
        close = difflib.get_close_matches(head, [v.value for v in Verb], n=2, cutoff=0.6)
        hint = f" Did you mean `{command} {close[0]}`?" if close else ""
        raise UsageError(f"`{words[0][:40]}` is not a {command} command.{hint}\n\n{help_text(command)}") from None
    args = words[1:]
    fresh = verb is Verb.TRIAGE and len(args) > 1 and args[-1].lower() == FRESH
    if fresh:
        args = args[:-1]
    if verb is Verb.STATUS:
        if len(args) > 1:
            raise UsageError(f"Too many words. Usage: `{command} {USAGE[verb]}`")
        if args and not _SCOPE_NAME.fullmatch(args[0]):
            raise UsageError(f"`{args[0][:40]}` is not an environment or resource group name. "
                             f"Usage: `{command} {USAGE[verb]}`")
        return Command(verb, since=DEFAULT_SINCE, scope=args[0] if args else None)
    if verb not in TAKES_JOB:
        if args:
            raise UsageError(f"`{command} {verb}` takes no arguments.\n\n{help_text(command)}")
        return Command(verb)
    if not args:
        raise UsageError(f"Which job? Usage: `{command} {USAGE[verb]}`")
    limit = 2 if verb in TAKES_WINDOW or verb is Verb.REVIEW else 1
    if len(args) > limit:
        raise UsageError(f"Too many words. Usage: `{command} {USAGE[verb]}`")
    job = parse_job(args[0])
    if verb is Verb.REVIEW:
        return Command(verb, job, parse_window(args[1] if len(args) == 2 else None))
    since = parse_since(args[1]) if len(args) == 2 else (parse_since(None) if verb in TAKES_WINDOW else None)
    return Command(verb, job, since, fresh)
