"""An alert thread as Slack sees it: the parent message and the notes in its thread (pure).

The parent is rendered from the stored thread every time (posted, then refreshed with `chat.update`):
what fired and where, its status (firing, resolved and how long it lasted, "+N more" grouped alerts),
who acknowledged or who is called next, then the triage report as it came in, and the Acknowledge
button until someone presses it. Text from the alert and from Azure is escaped; owners pass through
only when they are real user or user-group mentions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
)

from bot.alerts.schema import Alert
from bot.alerts.shared_cause import SharedCause
from bot.alerts.thread import MEMBER_TRIAGE, Facts, Flapping, IncidentFacts, Member, Thread
from bot.slack.blocks import SlackMessage, escape
from bot.slack.kit import block_dict, section
from bot.slack.limits import BLOCKS_MAX, HEADER_TEXT_MAX, SECTION_TEXT_MAX, TEXT_OBJECT_MAX, check_blocks, truncate
from bot.slack.mrkdwn import is_mention, one_line, when
from bot.text import utc_minute

ACK_ACTION = "jobbot.alert.ack"
_OWN_BLOCKS = 5  # header, facts, context, triage placeholder or note, actions
_FALLBACK_MAX = 3000


# --- the parent ----------------------------------------------------------------------------------------


def parent_message(thread: Thread, report: Sequence[dict[str, Any]] = (), *, cause: SharedCause | None = None,
                   triaged: int = 0) -> SlackMessage:
    """The parent message for the thread as stored now, with the triage's `report` blocks once there is
    one (at most 50 blocks in all, every Slack limit kept). An incident's parent shows instead the shared
    `cause` its jobs' stored triages agree on, of `triaged` triages stored so far."""
    if thread.incident is not None:
        return incident_message(thread, thread.incident, cause, triaged)
    triage_blocks = list(report) if thread.triage and thread.triage.cause else []
    room = BLOCKS_MAX - _OWN_BLOCKS
    cut = max(0, len(triage_blocks) - room)
    notes = [f"{cut} blocks of the triage report not shown (message size)"] if cut else []
    blocks = [_header(thread), _facts(thread), _context(thread, notes)]
    if triage_blocks:
        blocks += triage_blocks[: len(triage_blocks) - cut]
    else:
        blocks.append(_triage_placeholder(thread))
    if thread.ack is None:
        blocks.append(_ack_button(thread.key))
    if check_blocks(blocks):  # cannot happen by construction; never post what Slack would refuse
        blocks = [_header(thread), _facts(thread), _context(thread, ["triage report not shown (message size)"])]
        if thread.ack is None:
            blocks.append(_ack_button(thread.key))
    return SlackMessage(text=_fallback(thread), blocks=blocks)


def _header(thread: Thread) -> dict[str, Any]:
    mark = ":white_check_mark: Resolved" if thread.resolved else ":red_circle:"
    text = f"{mark} {thread.facts.severity} · {one_line(thread.facts.rule)}"
    return block_dict(HeaderBlock(block_id="jobbot.alert.header",
                             text=PlainTextObject(text=truncate(text, HEADER_TEXT_MAX), emoji=True)))


def _facts(thread: Thread) -> dict[str, Any]:
    facts, routing = thread.facts, thread.routing
    where = f"*{escape(routing.job)}*" if routing.job else "_job unknown_"
    lines = [f"{where} · {escape(facts.signal_type or 'alert')} alert"
             + (f" ({escape(facts.monitoring_service)})" if facts.monitoring_service else "")]
    lines += [f"• {escape(line)}" for line in facts.criteria[:5]]
    if facts.description:
        lines.append(f"_{escape(one_line(facts.description))[:500]}_")
    lines.append(_status(thread))
    if thread.flapping is not None:
        lines.append(f":repeat: *{flapping_line(thread.flapping)}* — firings and resolves are counted here, "
                     "not posted")
    others = len(thread.members) - 1
    if others > 0:
        lines.append(f":heavy_plus_sign: *+{others} more* alert{'s' if others > 1 else ''} of this rule on this "
                     "job, grouped in the thread")
    if facts.link:
        # Percent-encoded as a URL may be; the characters that would end Slack's <url|label> never pass.
        url = facts.link.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E").replace("&", "&amp;")
        lines.append(f"<{url}|Search results in Log Analytics>" if len(url) <= 2000
                     else "_search results link too long to show_")
    return section(truncate("\n".join(lines), SECTION_TEXT_MAX), block_id="jobbot.alert.facts")


def _status(thread: Thread) -> str:
    members = thread.members
    opener = thread.member(thread.key) or (members[0] if members else None)
    if not members or opener is None:
        return "*Status:* firing"
    if thread.resolved:
        started = min((m.fired_at for m in members if m.fired_at), default=None)
        ended = max((m.resolved_at for m in members if m.resolved_at), default=None)
        lasted = f" after {_duration(ended - started)}" if started and ended and ended >= started else ""
        span = f" (fired {when(started)}, resolved {when(ended)})" if started and ended else ""
        return f"*Status:* resolved{lasted}{span}"
    firing_since = min((m.fired_at for m in members if m.fired_at), default=None)
    since = f" since {when(firing_since)}" if firing_since else ""
    done = sum(1 for m in members if m.resolved)
    partly = f" · {done} of {len(members)} alerts resolved" if done else ""
    return f"*Status:* firing{since}{partly}"


def _context(thread: Thread, extra: list[str]) -> dict[str, Any]:
    routing = thread.routing
    items: list[str] = []
    if thread.ack is not None:
        items.append(f":eyes: Acknowledged by <@{escape(thread.ack.user)}> {when(thread.ack.at)}")
    elif thread.resolved:
        items.append("Not acknowledged")
    else:
        items.append("Not acknowledged yet")
        if routing.primary:
            items.append(f"owner {mention(routing.primary)}")
        upcoming = routing.chain[thread.escalated:thread.escalated + 1]
        if upcoming:
            items.append(f"escalates to {mention(upcoming[0])} after {_duration(_every(thread))} without one")
    if routing.job is None:
        items.append(":grey_question: *No job found* in this alert (its target, dimensions or the catalog): "
                     "posted with what the alert says; no triage")
    if routing.channel_source == "default" and routing.job is not None:
        items.append("posted in the default alert channel: the job has no channel in the catalog or "
                     "`jobbot-channel` tag")
    items += [escape(note) for note in routing.notes]
    if thread.part_of is not None:
        items.append(":link: *Part of an environment-wide incident*: see its thread in the alert channel; "
                     "this alert escalates no further on its own")
    if thread.triage and thread.triage.cause == "healthy" and not thread.resolved:
        items.append(":warning: the triage found nothing wrong in its window while the alert is firing: the "
                     "alert measures something these checks do not see")
    items += extra
    text = truncate(" · ".join(items), TEXT_OBJECT_MAX)
    return block_dict(ContextBlock(block_id="jobbot.alert.context",
                                   elements=[MarkdownTextObject(text=text, verbatim=True)]))


def _triage_placeholder(thread: Thread) -> dict[str, Any]:
    if thread.routing.job is None:
        text = "_No triage: jobbot could not tell which job this alert is about._"
    elif thread.triage is not None and thread.triage.error:
        text = f":warning: The triage could not run: {escape(thread.triage.error)[:1000]}"
    else:
        text = f":hourglass_flowing_sand: Gathering evidence for *{escape(thread.routing.job)}* …"
    return section(text, block_id="jobbot.alert.triage")


def _ack_button(thread_key: str) -> dict[str, Any]:
    button = ButtonElement(text=PlainTextObject(text="Acknowledge", emoji=True), action_id=ACK_ACTION,
                           value=thread_key, style="primary")
    return block_dict(ActionsBlock(block_id="jobbot.alert.actions", elements=[button]))


def _fallback(thread: Thread) -> str:
    state = "resolved" if thread.resolved else "firing"
    job = thread.routing.job or "unknown job"
    line = f"{thread.facts.severity} alert {state}: {one_line(thread.facts.rule)} on {job}"
    if thread.triage and thread.triage.text:
        line += f" — {one_line(thread.triage.text)}"
    return truncate(escape(line), _FALLBACK_MAX)


# --- an environment-wide incident ------------------------------------------------------------------------


def incident_message(thread: Thread, incident: IncidentFacts, cause: SharedCause | None = None,
                     triaged: int = 0) -> SlackMessage:
    """The incident's parent: the shared dependency, the likely shared cause (the change its jobs' triages
    agree on), its status, one line per job's alert, the owner paged."""
    mark = ":white_check_mark: Resolved" if thread.resolved else ":rotating_light:"
    title = f"{mark} Environment-wide incident · {len(incident.jobs)} jobs · {incident.describe()}"
    lines = [f"*{len(incident.jobs)} jobs* sharing the *{escape(incident.describe())}* started failing together: "
             "the shared dependency is the likely cause (each job's triage is in the thread).",
             _status(thread), "*Affected jobs:*"]
    by_job: dict[str, list[Member]] = {}
    for member in thread.members:
        by_job.setdefault(member.job or "unknown job", []).append(member)
    for job in incident.jobs:
        members = by_job.get(job, [])
        state = ("resolved" if members and all(m.resolved for m in members)
                 else "firing" if members else "failing (alert in its own thread)")
        fired = min((m.fired_at for m in members if m.fired_at), default=None)
        lines.append(f"• *{escape(job)}* — {state}" + (f", fired {when(fired)}" if fired else ""))
    context = [f"paged {mention(incident.owner)} (platform owner)" if incident.owner
               else "no platform owner configured (`alerts.platform_owners`)",
               "resolved: every alert in it resolved" if thread.resolved
               else "per-job escalation held while the incident is open"]
    blocks = [block_dict(HeaderBlock(block_id="jobbot.incident.header",
                                     text=PlainTextObject(text=truncate(title, HEADER_TEXT_MAX), emoji=True))),
              section(truncate(cause_line(thread, incident, cause, triaged), SECTION_TEXT_MAX),
                      block_id="jobbot.incident.cause"),
              section(truncate("\n".join(lines), SECTION_TEXT_MAX), block_id="jobbot.incident.jobs"),
              block_dict(ContextBlock(block_id="jobbot.incident.context", elements=[
                  MarkdownTextObject(text=truncate(" · ".join(context), TEXT_OBJECT_MAX), verbatim=True)]))]
    if thread.ack is None and not thread.resolved:
        blocks.append(_ack_button(thread.key))
    state = "resolved" if thread.resolved else "open"
    text = f"Environment-wide incident {state}: {len(incident.jobs)} jobs sharing the {incident.describe()}"
    if cause is not None:
        text += f" — shared cause: {_cause_plain(cause)}"
    return SlackMessage(text=truncate(escape(text), _FALLBACK_MAX), blocks=blocks)


def cause_line(thread: Thread, incident: IncidentFacts, cause: SharedCause | None, triaged: int) -> str:
    """What the jobs' triages say caused it: the change they share (what, when, who), or that none is
    shared (yet)."""
    if cause is not None:
        who = f" by {escape(cause.caller)}" if cause.caller else ""
        at = f" {when(cause.time)}" if cause.time else ""
        source = {"activity-log": "Activity Log", "resource-graph": "Resource Graph"}.get(cause.source or "", "")
        seen = f"found by the triage of {len(cause.jobs)} of {len(incident.jobs)} jobs" + (
            f" in the {source}" if source else "")
        return f":mag: *Shared cause:* {escape(one_line(cause.what))}{at}{who} — {seen}."
    owed = sum(1 for e in thread.effects if e.key.startswith(MEMBER_TRIAGE) and not e.done)
    if owed:
        return (f":hourglass_flowing_sand: *Shared cause:* looking for a change of the {escape(incident.describe())} "
                f"in the jobs' triages ({triaged} in so far)…")
    return (f":grey_question: *Shared cause:* no change common to these jobs was found in their triages "
            f"({triaged} triaged): see each job's triage in the thread.")


def _cause_plain(cause: SharedCause) -> str:
    at = f" {utc_minute(cause.time, clock_only=True)}" if cause.time else ""
    return f"{one_line(cause.what)}{at}" + (f" by {cause.caller}" if cause.caller else "")


def page_text(incident: IncidentFacts) -> str:
    """The incident's one page to the platform owner."""
    owner = mention(incident.owner) if incident.owner else "platform owner"
    return (f":rotating_light: {owner}: {len(incident.jobs)} jobs sharing the *{escape(incident.describe())}* "
            "are failing together. Per-job escalations are held while this incident is open.")


def incident_note_text() -> str:
    return (":link: This job is one of several failing together on a shared dependency: the environment-wide "
            "incident's thread in the alert channel has them all. This alert escalates no further on its own.")


def incident_line_text(member: Member) -> str:
    """An alert's line in an incident thread (its job's triage follows as a reply)."""
    fired = f" fired {when(member.fired_at)}" if member.fired_at else " fired"
    job = f"*{escape(member.job)}*" if member.job else "an unknown job"
    return f":red_circle: {job}: alert `{escape(_short(member.alert_id))}`{fired}" + (
        f" ({escape(member.severity)})" if member.severity else "")


# --- notes in the thread -------------------------------------------------------------------------------


def joined_text(thread: Thread, member: Member) -> str:
    fired = f" fired {when(member.fired_at)}" if member.fired_at else " fired"
    job = f" on *{escape(thread.routing.job)}*" if thread.routing.job else ""
    return (f":heavy_plus_sign: Another alert of this rule{job}{fired}: `{escape(_short(member.alert_id))}`"
            f"{f' ({escape(member.severity)})' if member.severity else ''}. Grouped here instead of a new thread.")


def resolved_text(thread: Thread, member: Member) -> str:
    lasted = ""
    if member.fired_at and member.resolved_at and member.resolved_at >= member.fired_at:
        lasted = f", after {_duration(member.resolved_at - member.fired_at)}"
    line = f":white_check_mark: `{escape(_short(member.alert_id))}` resolved {when(member.resolved_at)}{lasted}."
    if len(thread.members) > 1:
        done = sum(1 for m in thread.members if m.resolved)
        line += f" {done} of {len(thread.members)} alerts in this thread are resolved."
    return line


def flapping_line(flapping: Flapping) -> str:
    times = "once" if flapping.fired == 1 else f"{flapping.fired} times"
    return f"flapping: fired {times} in {_minutes(flapping.window_min)}"


def flapping_text(thread: Thread) -> str:
    """The one note a thread gets when its alert starts flapping."""
    flapping = thread.flapping
    if flapping is None:
        return ":repeat: This alert was flapping; it has been quiet since."
    window = _minutes(flapping.window_min)
    return (f":repeat: This alert is flapping: it fired {flapping.fired} times in {window}, resolving in between. "
            f"Further firings join this thread without a new message, note or escalation (the parent keeps "
            f"count); after {window} of quiet it is treated as new again.")


def _minutes(value: float) -> str:
    return f"{value:g} min"


def ack_text(thread: Thread) -> str:
    who = f"<@{escape(thread.ack.user)}>" if thread.ack else "someone"
    return f":eyes: Acknowledged by {who}: escalation stopped."


def escalation_text(thread: Thread, tier: int, previous: int) -> str:
    """The note for `tier` (1-based); tiers after `previous` and before `tier` were missed (jobbot was down)."""
    chain = thread.routing.chain
    if not 0 < tier <= len(chain):
        return f":rotating_light: Escalation tier {tier} is not in the owners' chain any more."
    waited = _duration(_every(thread) * tier)
    line = (f":rotating_light: Nobody has acknowledged this alert after {waited}: {mention(chain[tier - 1])}, "
            f"please take a look (escalation {tier} of {len(chain)}).")
    missed = [mention(m) for m in chain[previous:tier - 1]]
    if missed:
        line += f" Also {', '.join(missed)}: {'that tier was' if len(missed) == 1 else 'those tiers were'} due earlier."
    if tier == len(chain):
        line += " This is the end of the chain."
    return line


# --- what the first alert said --------------------------------------------------------------------------


def facts_of(alert: Alert) -> Facts:
    return Facts(
        rule=alert.rule, severity=alert.severity, signal_type=alert.signal_type,
        monitoring_service=alert.monitoring_service, description=alert.description,
        target=alert.target_ids[0] if alert.target_ids else None,
        criteria=tuple(_criteria_lines(alert)),
        link=next((c.link for c in alert.criteria if c.link), None),
    )


def _criteria_lines(alert: Alert) -> list[str]:
    lines: list[str] = []
    for criterion in alert.criteria:
        subject = criterion.metric or (f"query {one_line(criterion.search_query)[:200]}"
                                       if criterion.search_query else "condition")
        parts = [subject]
        if criterion.aggregation:
            parts.append(f"({criterion.aggregation})")
        if criterion.operator and criterion.threshold is not None:
            parts.append(f"{criterion.operator} {criterion.threshold}")
        if criterion.value is not None:
            parts.append(f"— value {criterion.value:g}")
        dims = ", ".join(f"{d.name}={d.value}" for d in criterion.dimensions[:4])
        if dims:
            parts.append(f"[{dims}]")
        lines.append(one_line(" ".join(parts))[:400])
    if alert.activity is not None:
        event = alert.activity
        lines.append(" ".join(x for x in (event.operation, f"by {event.caller}" if event.caller else None,
                                          f"({event.status})" if event.status else None) if x)[:400])
    return lines


# --- small helpers ---------------------------------------------------------------------------------------


def mention(value: str) -> str:
    value = value.strip()
    return value if is_mention(value) else escape(value)


def _every(thread: Thread) -> timedelta:
    return timedelta(seconds=thread.routing.escalate_after_s)


def _short(alert_id: str) -> str:
    return alert_id.rstrip("/").rsplit("/", 1)[-1]




def _duration(length: timedelta) -> str:
    seconds = max(0, int(length.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"

