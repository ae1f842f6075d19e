"""Scenario files: one frozen Azure world, loaded from YAML or JSON and validated all at once.

The format is a fixed contract (docs "Scenario files"): `model` holds it as pydantic models,
`load` reads a file against it, `problems` words what is wrong, `records` is what a loaded scenario
is. Import from here.
"""

from __future__ import annotations

from bot.emulator.scenario.load import load_scenario, parse_scenario
from bot.emulator.scenario.records import (
    CHANGE_TYPES,
    DEFAULT_WORKSPACE_ID,
    EXECUTION_STATUSES,
    FAULT_TARGETS,
    LOG_DESTINATIONS,
    METRIC_NAMES,
    QUEUE_TYPES,
    Expect,
    ExpectedChange,
    FaultSpec,
    FaultTarget,
    LogDestination,
    MetricSeries,
    QueueSpec,
    QueueType,
    Scenario,
    ScenarioError,
    format_time,
    parse_time,
)

__all__ = [
    "CHANGE_TYPES",
    "DEFAULT_WORKSPACE_ID",
    "EXECUTION_STATUSES",
    "FAULT_TARGETS",
    "LOG_DESTINATIONS",
    "METRIC_NAMES",
    "QUEUE_TYPES",
    "Expect",
    "ExpectedChange",
    "FaultSpec",
    "FaultTarget",
    "LogDestination",
    "MetricSeries",
    "QueueSpec",
    "QueueType",
    "Scenario",
    "ScenarioError",
    "format_time",
    "load_scenario",
    "parse_scenario",
    "parse_time",
]
