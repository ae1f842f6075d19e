"""Scenario files: one frozen Azure world, loaded from YAML or JSON and validated all at once.

The format is a fixed contract (docs "Scenario files"). The scenario's own levels (top level,
`queues[]`, `faults[]`, `metrics[]`, `expect`) are checked strictly: an unknown key, a missing
required key, a wrong type or a value outside the vocabulary is an error naming the file and the
key path, and every error is reported in one `ScenarioError`. ARM resources under `jobs` and the
table rows are passed through as they are (real payloads carry more fields than jobbot reads); only
what the emulator needs to route them (a job's `id` and `name`, an execution's `name`) is checked.

YAML timestamps are *not* converted to `datetime`: values stay the strings they are in the file, so
ARM bodies are served exactly as written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from bot.errors import JobbotError
from bot.model import Cause, CheckStatus, Confidence

LogDestination = Literal["log-analytics", "azure-monitor"]
QueueType = Literal["azure-queue", "azure-servicebus"]
FaultTarget = Literal["arm", "logs", "queue"]

LOG_DESTINATIONS: tuple[LogDestination, ...] = ("log-analytics", "azure-monitor")
QUEUE_TYPES: tuple[QueueType, ...] = ("azure-queue", "azure-servicebus")
FAULT_TARGETS: tuple[FaultTarget, ...] = ("arm", "logs", "queue")
METRIC_NAMES = ("Executions", "Usage Bytes", "UsageNanoCores")
DEFAULT_WORKSPACE_ID = "00000000-0000-0000-0000-000000000000"

_TOP_KEYS = frozenset(
    {
        "name",
        "description",
        "now",
        "subscription",
        "workspace_id",
        "log_destination",
        "jobs",
        "tables",
        "metrics",
        "queues",
        "faults",
        "expect",
    }
)
_QUEUE_KEYS = frozenset({"type", "account", "resource_group", "name", "depth", "dead_letter"})
_FAULT_KEYS = frozenset({"target", "path", "latency_ms", "status", "retry_after", "partial", "drop", "times"})
_METRIC_KEYS = frozenset({"job", "name", "points"})
_EXPECT_KEYS = frozenset(
    {"job", "cause", "confidence", "suspected_change", "rollback_image", "evidence_complete", "checks"}
)
_JOB_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.App/jobs/(?P<name>[^/]+)$",
    re.IGNORECASE,
)


class ScenarioError(JobbotError, ValueError):
    """A scenario file is invalid. `problems` holds one "key.path: what is wrong" per error.

    The message has one line per problem, each "<file>: <key path>: <what is wrong>".
    """

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {problem}" for problem in problems))


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """An event source named by a scale rule, and how many messages it holds now."""

    type: QueueType
    account: str  # storage account (azure-queue) or Service Bus namespace (azure-servicebus)
    name: str  # queue name, or "topic/subscription" for a Service Bus topic rule
    depth: int = 0
    dead_letter: int = 0
    resource_group: str | None = None


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """An injected upstream fault; `times=None` means every matching request."""

    target: FaultTarget
    path: str = "/"
    latency_ms: float = 0
    status: int = 0
    retry_after: float | None = None
    partial: bool = False
    drop: bool = False
    times: int | None = None


@dataclass(frozen=True, slots=True)
class MetricSeries:
    """Azure Monitor metric points of one job: (timestamp, value) pairs."""

    job: str
    name: str
    points: tuple[tuple[datetime, float], ...]


@dataclass(frozen=True)
class Scenario:
    name: str
    now: datetime
    subscription: str
    jobs: list[dict[str, Any]]
    description: str = ""
    workspace_id: str = DEFAULT_WORKSPACE_ID
    log_destination: LogDestination = "log-analytics"
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    metrics: tuple[MetricSeries, ...] = ()
    queues: tuple[QueueSpec, ...] = ()
    faults: tuple[FaultSpec, ...] = ()
    expect: dict[str, Any] | None = None
    path: Path | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The scenario in file form (JSON-ready): `parse_scenario(s.to_dict()) == s`."""
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "now": format_time(self.now),
            "subscription": self.subscription,
            "workspace_id": self.workspace_id,
            "log_destination": self.log_destination,
            "jobs": self.jobs,
            "tables": self.tables,
            "metrics": [
                {"job": m.job, "name": m.name, "points": [[format_time(t), v] for t, v in m.points]}
                for m in self.metrics
            ],
            "queues": [_drop_none(asdict(q)) for q in self.queues],
            "faults": [_drop_none(asdict(f)) for f in self.faults],
        }
        if self.expect is not None:
            out["expect"] = self.expect
        return out


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
    check = _Checker()
    if not isinstance(data, Mapping):
        raise ScenarioError(source, [f"the document must be a mapping, not {_type_name(data)}"])
    check.keys(data, _TOP_KEYS, "")
    name = check.string(data, "name", "", required=True)
    description = check.string(data, "description", "") or ""
    now = check.time(data.get("now"), "now", required=True)
    subscription = check.string(data, "subscription", "", required=True)
    workspace_id = check.string(data, "workspace_id", "") or DEFAULT_WORKSPACE_ID
    destination = check.choice(data, "log_destination", "", LOG_DESTINATIONS) or "log-analytics"
    jobs = _jobs(check, data.get("jobs"))
    tables = _tables(check, data.get("tables"))
    job_names = {str(j.get("name", "")).lower() for j in jobs}
    metrics = tuple(
        m
        for i, item in enumerate(check.items(data, "metrics"))
        if (m := _metric(check, item, f"metrics[{i}]", job_names)) is not None
    )
    queues = tuple(
        q
        for i, item in enumerate(check.items(data, "queues"))
        if (q := _queue(check, item, f"queues[{i}]")) is not None
    )
    faults = tuple(
        f
        for i, item in enumerate(check.items(data, "faults"))
        if (f := _fault(check, item, f"faults[{i}]")) is not None
    )
    expect = _expect(check, data.get("expect"))
    if check.problems:
        raise ScenarioError(source, check.problems)
    assert name is not None and now is not None and subscription is not None
    return Scenario(
        name=name,
        description=description,
        now=now,
        subscription=subscription,
        workspace_id=workspace_id,
        log_destination=cast(LogDestination, destination),
        jobs=jobs,
        tables=tables,
        metrics=metrics,
        queues=queues,
        faults=faults,
        expect=expect,
        path=path,
    )


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp with a zone ("Z" or an offset), else None."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else None
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def format_time(value: datetime) -> str:
    """ISO 8601 in UTC with a "Z", as Azure writes timestamps."""
    text = value.astimezone(UTC).replace(tzinfo=None).isoformat()
    return f"{text}Z"


# --- the parts ------------------------------------------------------------------------------------


def _jobs(check: _Checker, value: Any) -> list[dict[str, Any]]:
    if value is None:
        check.problem("jobs", "required key is missing")
        return []
    if not isinstance(value, list):
        check.problem("jobs", f"must be a list, not {_type_name(value)}")
        return []
    jobs: list[dict[str, Any]] = []
    for i, job in enumerate(value):
        where = f"jobs[{i}]"
        if not isinstance(job, dict):
            check.problem(where, f"must be a mapping (an ARM job resource), not {_type_name(job)}")
            continue
        job_id, name = job.get("id"), job.get("name")
        match = _JOB_ID.match(job_id) if isinstance(job_id, str) else None
        if match is None:
            check.problem(
                f"{where}.id",
                "must be a job resource id: /subscriptions/…/resourceGroups/…/providers/Microsoft.App/jobs/NAME",
            )
        if not isinstance(name, str) or not name:
            check.problem(f"{where}.name", "required string is missing")
        elif match is not None and match["name"].lower() != name.lower():
            check.problem(f"{where}.name", f"'{name}' does not match the id's job '{match['name']}'")
        executions = job.get("executions", [])
        if not isinstance(executions, list):
            check.problem(f"{where}.executions", f"must be a list, not {_type_name(executions)}")
        else:
            for k, execution in enumerate(executions):
                if not isinstance(execution, dict) or not isinstance(execution.get("name"), str):
                    check.problem(f"{where}.executions[{k}].name", "required string is missing")
        jobs.append(job)
    return jobs


def _tables(check: _Checker, value: Any) -> dict[str, list[dict[str, Any]]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        check.problem("tables", f"must be a mapping of table name to rows, not {_type_name(value)}")
        return {}
    tables: dict[str, list[dict[str, Any]]] = {}
    for table, rows in value.items():
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            check.problem(f"tables.{table}", "must be a list of rows (mappings of column to value)")
            continue
        tables[str(table)] = rows
    return tables


def _metric(check: _Checker, item: Any, where: str, jobs: set[str]) -> MetricSeries | None:
    if not check.mapping(item, where, _METRIC_KEYS):
        return None
    job = check.string(item, "job", where, required=True)
    if job is not None and job.lower() not in jobs:
        check.problem(f"{where}.job", f"no job named '{job}' under jobs")
    name = check.choice(item, "name", where, METRIC_NAMES, required=True)
    points: list[tuple[datetime, float]] = []
    for k, point in enumerate(check.items(item, "points", where, required=True)):
        at = f"{where}.points[{k}]"
        if not isinstance(point, list) or len(point) != 2:
            check.problem(at, "must be a [timestamp, value] pair")
            continue
        when = check.time(point[0], f"{at}[0]", required=True)
        number = check.number_value(point[1], f"{at}[1]")
        if when is not None and number is not None:
            points.append((when, number))
    if job is None or name is None:
        return None
    return MetricSeries(job=job, name=name, points=tuple(points))


def _queue(check: _Checker, item: Any, where: str) -> QueueSpec | None:
    if not check.mapping(item, where, _QUEUE_KEYS):
        return None
    kind = check.choice(item, "type", where, QUEUE_TYPES, required=True)
    account = check.string(item, "account", where, required=True)
    name = check.string(item, "name", where, required=True)
    resource_group = check.string(item, "resource_group", where)
    depth = check.integer(item, "depth", where, minimum=0) or 0
    dead_letter = check.integer(item, "dead_letter", where, minimum=0) or 0
    if kind == "azure-queue" and dead_letter:
        check.problem(f"{where}.dead_letter", "Storage queues have no dead-letter queue")
    if kind is None or account is None or name is None:
        return None
    return QueueSpec(
        type=cast(QueueType, kind),
        account=account,
        name=name,
        depth=depth,
        dead_letter=dead_letter,
        resource_group=resource_group,
    )


def _fault(check: _Checker, item: Any, where: str) -> FaultSpec | None:
    if not check.mapping(item, where, _FAULT_KEYS):
        return None
    target = check.choice(item, "target", where, FAULT_TARGETS, required=True)
    path = check.string(item, "path", where) or "/"
    latency_ms = check.number(item, "latency_ms", where, minimum=0) or 0
    status = check.integer(item, "status", where, minimum=0) or 0
    if status and not 400 <= status <= 599:
        check.problem(f"{where}.status", f"must be 0 (succeed) or an error status 400-599, not {status}")
    retry_after = check.number(item, "retry_after", where, minimum=0)
    partial = bool(check.boolean(item, "partial", where))
    drop = bool(check.boolean(item, "drop", where))
    times = check.integer(item, "times", where, minimum=1)
    if partial and target not in (None, "logs"):
        check.problem(f"{where}.partial", "only a logs fault can be partial")
    if partial and (status or drop):
        check.problem(f"{where}.partial", "cannot be combined with status or drop")
    if target is None:
        return None
    return FaultSpec(
        target=cast(FaultTarget, target),
        path=path,
        latency_ms=latency_ms,
        status=status,
        retry_after=retry_after,
        partial=partial,
        drop=drop,
        times=times,
    )


def _expect(check: _Checker, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not check.mapping(value, "expect", _EXPECT_KEYS):
        return None
    check.string(value, "job", "expect")
    check.choice(value, "cause", "expect", tuple(Cause))
    check.choice(value, "confidence", "expect", tuple(Confidence))
    check.boolean(value, "suspected_change", "expect")
    check.boolean(value, "evidence_complete", "expect")
    if value.get("rollback_image") is not None:
        check.string(value, "rollback_image", "expect")
    checks = value.get("checks")
    if checks is not None:
        if not isinstance(checks, dict):
            check.problem("expect.checks", "must be a mapping of check name to status")
        else:
            for name in checks:
                check.choice(checks, name, "expect.checks", tuple(CheckStatus))
    return dict(value)


# --- checking helpers -----------------------------------------------------------------------------


class _Checker:
    """Collects "key.path: problem" lines instead of stopping at the first one."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def keys(self, item: Mapping[Any, Any], allowed: frozenset[str], where: str) -> None:
        for key in item:
            if key not in allowed:
                self.problem(_join(where, str(key)), "unknown key")

    def mapping(self, item: Any, where: str, allowed: frozenset[str]) -> bool:
        if not isinstance(item, Mapping):
            self.problem(where, f"must be a mapping, not {_type_name(item)}")
            return False
        self.keys(item, allowed, where)
        return True

    def items(self, item: Mapping[str, Any], key: str, where: str = "", *, required: bool = False) -> list[Any]:
        value = item.get(key)
        if value is None:
            if required:
                self.problem(_join(where, key), "required key is missing")
            return []
        if not isinstance(value, list):
            self.problem(_join(where, key), f"must be a list, not {_type_name(value)}")
            return []
        return value

    def string(self, item: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
        value = item.get(key)
        if value is None:
            if required:
                self.problem(_join(where, key), "required key is missing")
            return None
        if not isinstance(value, str) or (required and not value):
            self.problem(_join(where, key), f"must be a non-empty string, not {_type_name(value)}")
            return None
        return value

    def choice(
        self,
        item: Mapping[str, Any],
        key: str,
        where: str,
        allowed: tuple[str, ...],
        *,
        required: bool = False,
    ) -> str | None:
        value = self.string(item, key, where, required=required)
        if value is not None and value not in allowed:
            self.problem(_join(where, key), f"'{value}' is not one of: {', '.join(allowed)}")
            return None
        return value

    def time(self, value: Any, where: str, *, required: bool = False) -> datetime | None:
        if value is None:
            if required:
                self.problem(where, "required key is missing")
            return None
        parsed = parse_time(value)
        if parsed is None:
            self.problem(where, f"must be an ISO 8601 timestamp with a zone (e.g. ...Z), not {value!r}")
        return parsed

    def number_value(self, value: Any, where: str, *, minimum: float | None = None) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(where, f"must be a number, not {_type_name(value)}")
            return None
        if minimum is not None and value < minimum:
            self.problem(where, f"must be at least {minimum}")
            return None
        return value

    def number(self, item: Mapping[str, Any], key: str, where: str, *, minimum: float) -> float | None:
        value = item.get(key)
        return None if value is None else self.number_value(value, _join(where, key), minimum=minimum)

    def integer(self, item: Mapping[str, Any], key: str, where: str, *, minimum: int) -> int | None:
        value = item.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(_join(where, key), f"must be an integer, not {_type_name(value)}")
            return None
        if value < minimum:
            self.problem(_join(where, key), f"must be at least {minimum}")
            return None
        return value

    def boolean(self, item: Mapping[str, Any], key: str, where: str) -> bool | None:
        value = item.get(key)
        if value is not None and not isinstance(value, bool):
            self.problem(_join(where, key), f"must be true or false, not {_type_name(value)}")
            return None
        return value


class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader that keeps timestamps as the strings they are in the file."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _type_name(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), f"a {type(value).__name__}")


def _format_name(path: Path) -> str:
    return "JSON" if path.suffix.lower() == ".json" else "YAML"


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
