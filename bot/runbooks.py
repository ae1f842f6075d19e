"""Runbooks: Markdown + Jinja2 templates with YAML front matter, chosen by verdict cause.

Rendered with StrictUndefined, so a template that names evidence that is not there fails loudly in
tests instead of showing an empty command to an engineer at 3 a.m.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jinja2
import yaml

from bot.assets import asset_dir
from bot.evidence.change_commands import shell_word
from bot.model import Job, Runbook, Verdict, Window

GENERIC = "generic"
_FRONT = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.DOTALL)
_STEP = re.compile(r"^\s*\d+\.\s+(.*)$")
_FIELDS = {"id", "title", "causes", "escalation"}


@dataclass(frozen=True, slots=True)
class RunbookTemplate:
    id: str
    title: str
    causes: tuple[str, ...]
    escalation: str
    body: str
    path: Path


def parse_template(path: Path) -> RunbookTemplate:
    match = _FRONT.match(path.read_text())
    if not match:
        raise ValueError(f"{path}: a runbook starts with YAML front matter between --- lines")
    front = yaml.safe_load(match.group(1)) or {}
    missing = _FIELDS - set(front)
    unknown = set(front) - _FIELDS
    if missing or unknown:
        raise ValueError(f"{path}: front matter missing {sorted(missing)} / unknown {sorted(unknown)}")
    return RunbookTemplate(str(front["id"]), str(front["title"]), tuple(front["causes"] or ()),
                           str(front["escalation"]), match.group(2), path)


@cache
def bundled() -> dict[str, RunbookTemplate]:
    templates = [parse_template(p) for p in sorted(asset_dir("runbooks").glob("*.md.j2"))]
    return {t.id: t for t in templates}


def choose(cause: str, overrides: Mapping[str, str] | None = None) -> RunbookTemplate:
    """The job's own runbook for this cause if configured, else the bundled one, else the generic one."""
    if overrides and cause in overrides:
        return parse_template(Path(overrides[cause]))
    for template in bundled().values():
        if cause in template.causes:
            return template
    return bundled()[GENERIC]


_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)


def _word(value: Any, placeholder: str) -> str:
    """A value jobbot knows as one shell word; else the placeholder, quoted so the line still pastes."""
    return shell_word(value) if value else f'"{placeholder}"'


_ENV.filters["word"] = _word


@lru_cache(maxsize=256)
def _compiled(body: str) -> jinja2.Template:
    # Compiling is most of a render's time, and a board renders 50 runbooks from a handful of templates.
    return _ENV.from_string(body)


def render(template: RunbookTemplate, context: Mapping[str, Any]) -> Runbook:
    text = _compiled(template.body).render(**context)
    steps = tuple(m.group(1).strip() for line in text.splitlines() if (m := _STEP.match(line)))
    return Runbook(template.id, template.title, steps)


def context_for(job: Job, verdict: Verdict, window: Window, window_label: str) -> dict[str, Any]:
    return {
        "job": {"name": job.ref.name, "resource_group": job.ref.resource_group,
                "subscription": job.ref.subscription, "id": job.ref.id, "environment_id": job.environment_id},
        "verdict": {"cause": verdict.cause.value, "confidence": verdict.confidence.value, "summary": verdict.summary},
        "change": verdict.suspected_change,
        "rollback": verdict.rollback_candidate,
        "window": window_label,
        **_known_values(job),
    }


def _known_values(job: Job) -> dict[str, Any]:
    """What a runbook's commands can fill in from the job itself (the rest stays a quoted placeholder)."""
    image = job.containers[0].image if job.containers else ""
    host, _, path = image.partition("/") if "." in image.partition("/")[0] else ("", "", image)
    rule = job.rules[0] if job.rules else None
    meta = rule.metadata if rule else {}
    return {
        "container": job.containers[0].name if job.containers else "",
        "registry": host.split(".")[0] if host.endswith(".azurecr.io") else host,
        "repository": path.split("@")[0].rsplit(":", 1)[0] if path else "",
        "principal": next((d for d in job.dependencies if [len(p) for p in d.split("-")] == [8, 4, 4, 4, 12]), ""),
        "queue": {"namespace": meta.get("namespace") or "",
                  "name": meta.get("queueName") or meta.get("topicName") or ""},
    }


def runbook_for(job: Job, verdict: Verdict, window: Window, window_label: str,
                overrides: Mapping[str, str] | None = None, *, logs_link: bool = False) -> Runbook:
    """`logs_link`: the report carries Log Analytics links (the workspace's resource id is known), so a step
    may point at them; otherwise it says where to look instead of promising a link that is not there."""
    context = {**context_for(job, verdict, window, window_label), "logs_link": logs_link}
    return render(choose(verdict.cause.value, overrides), context)
