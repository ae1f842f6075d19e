"""A managed environment's quota usages (`GET {environment}/usages`), as the Container Apps API serves them.

The shape is the official example's (`ManagedEnvironmentUsages_List.json`, tests/fixtures/azure/SOURCES.md):
`{"value": [{"currentValue", "limit", "name": {"value", "localizedValue"}, "unit": "Count"}]}`. The values
come from the scenario, the way the service counts them: "the sum of cores requested by each active replica"
(learn.microsoft.com/azure/container-apps/quotas), i.e. each Running or Processing execution's template cpu
× its job's parallelism, summed over the environment's jobs on the Consumption profile; the limit is the
documented default of 100 cores per environment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

CONSUMPTION_CORES = "ManagedEnvironmentConsumptionCores"
DEFAULT_CORE_LIMIT = 100.0
_ACTIVE = frozenset({"running", "processing"})


def usages_body(jobs: Iterable[Mapping[str, Any]], environment_id: str) -> dict[str, Any]:
    """The usages list of the environment `environment_id`, given the scenario's jobs (with executions)."""
    used = sum(_active_cores(job) for job in jobs if _in(job, environment_id) and _on_consumption(job))
    return {"value": [{
        "currentValue": round(used, 2),
        "limit": DEFAULT_CORE_LIMIT,
        "name": {"localizedValue": "Managed Environment Consumption Cores", "value": CONSUMPTION_CORES},
        "unit": "Count",
    }]}


def _in(job: Mapping[str, Any], environment_id: str) -> bool:
    return str((job.get("properties") or {}).get("environmentId") or "").lower() == environment_id.lower()


def _on_consumption(job: Mapping[str, Any]) -> bool:
    profile = (job.get("properties") or {}).get("workloadProfileName")
    return not profile or str(profile).lower() == "consumption"


def _active_cores(job: Mapping[str, Any]) -> float:
    configuration = (job.get("properties") or {}).get("configuration") or {}
    kinds = ("eventTriggerConfig", "manualTriggerConfig", "scheduleTriggerConfig")
    trigger: Mapping[str, Any] = next((configuration[k] for k in kinds if isinstance(configuration.get(k), Mapping)),
                                      {})
    parallelism = _number(trigger.get("parallelism"), 1.0)
    total = 0.0
    for execution in job.get("executions") or []:
        properties = execution.get("properties") or {}
        if str(properties.get("status") or "").lower() not in _ACTIVE:
            continue
        containers = (properties.get("template") or {}).get("containers") or []
        total += parallelism * sum(_number((c.get("resources") or {}).get("cpu"), 0.0) for c in containers)
    return total


def _number(value: Any, default: float) -> float:
    try:
        return float(value) if value is not None else default
    except (TypeError, ValueError):
        return default
