"""Reading a scenario: YAML or JSON -> validated models -> the frozen `Scenario` the emulator serves.

Every problem is reported at once, each as "<key path>: <what is wrong>" (`jobs[0].propertes:
unknown key`, `jobs[0].properties: required key is missing`), in one `ScenarioError`.

YAML timestamps are *not* converted to `datetime`: values stay the strings they are in the file, so
ARM bodies are served exactly as written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.emulator.scenario.model import ScenarioModel
from bot.emulator.scenario.problems import problems_of
from bot.emulator.scenario.records import (
    DEFAULT_WORKSPACE_ID,
    FaultSpec,
    MetricSeries,
    QueueSpec,
    Scenario,
    ScenarioError,
)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (`.json` as JSON, anything else as YAML)."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(source, [f"cannot read: {exc.strerror or exc}"]) from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.load(text, _Loader)
    except (ValueError, yaml.YAMLError) as exc:
        raise ScenarioError(source, [f"not valid {_format_name(path)}: {exc}"]) from exc
    return parse_scenario(data, source=source, path=path)


def parse_scenario(data: Any, *, source: str = "<scenario>", path: Path | None = None) -> Scenario:
    """Validate an already-parsed scenario document; `source` names it in error messages."""
    if not isinstance(data, Mapping):
        raise ScenarioError(source, [f"the document must be a mapping, not {_type_name(data)}"])
    problems: list[str] = []
    model: ScenarioModel | None = None
    try:
        model = ScenarioModel.model_validate(dict(data))
    except ValidationError as exc:
        problems += problems_of(exc)
    problems += _cross_references(data)
    if problems or model is None:
        raise ScenarioError(source, problems)
    raw = dict(data)
    return Scenario(
        name=model.name,
        description=model.description or "",
        now=model.now,
        subscription=model.subscription,
        workspace_id=model.workspace_id or DEFAULT_WORKSPACE_ID,
        log_destination=model.log_destination or "log-analytics",  # type: ignore[arg-type]
        jobs=list(raw["jobs"]),
        tables={str(k): list(v) for k, v in (raw.get("tables") or {}).items()},
        absent_tables=tuple(model.absent_tables or ()),
        metrics=tuple(
            MetricSeries(job=m.job, name=m.name, points=tuple((t, v) for t, v in m.points)) for m in model.metrics or ()
        ),
        queues=tuple(
            QueueSpec(
                type=q.type,  # type: ignore[arg-type]
                account=q.account,
                name=q.name,
                depth=q.depth or 0,
                dead_letter=q.dead_letter or 0,
                resource_group=q.resource_group,
                lock_duration=q.lock_duration,
                max_delivery_count=q.max_delivery_count,
            )
            for q in model.queues or ()
        ),
        faults=tuple(
            FaultSpec(
                target=f.target,  # type: ignore[arg-type]
                path=f.path or "/",
                latency_ms=f.latency_ms or 0,
                status=f.status or 0,
                retry_after=f.retry_after,
                partial=bool(f.partial),
                drop=bool(f.drop),
                times=f.times,
            )
            for f in model.faults or ()
        ),
        expect=model.expect,
        resources=list(raw.get("resources") or []),
        role_assignments=list(raw.get("role_assignments") or []),
        role_definitions=list(raw.get("role_definitions") or []),
        resource_changes=list(raw.get("resource_changes") or []),
        alert_rules={kind: list(rules) for kind, rules in sorted((raw.get("alert_rules") or {}).items()) if rules},
        action_groups=list(raw.get("action_groups") or []),
        path=path,
    )


def _cross_references(data: Mapping[str, Any]) -> list[str]:
    """Checks across levels, made on the raw document so they are reported with every other problem."""
    jobs = data.get("jobs")
    listed = jobs if isinstance(jobs, list) else []
    names = {str(j.get("name", "")).lower() for j in listed if isinstance(j, Mapping)}
    problems: list[str] = []
    metrics = data.get("metrics")
    for i, metric in enumerate(metrics if isinstance(metrics, list) else []):
        job = metric.get("job") if isinstance(metric, Mapping) else None
        if isinstance(job, str) and job and job.lower() not in names:
            problems.append(f"metrics[{i}].job: no job named '{job}' under jobs")
    return problems


class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader that keeps timestamps as the strings they are in the file."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _type_name(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), f"a {type(value).__name__}")


def _format_name(path: Path) -> str:
    return "JSON" if path.suffix.lower() == ".json" else "YAML"
