"""ARM REST JSON (camelCase, as GET returns it) -> core model. One function per shape, no SDK types."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.evidence.arm_time import parse_arm_time
from bot.model import Container, Execution, ExecutionStatus, Job, JobRef, ScaleRule

_ID = re.compile(r"/subscriptions/([^/]+)/resourceGroups/([^/]+)/", re.IGNORECASE)
DEFAULT_MAX_EXECUTIONS = 100
DEFAULT_POLLING_S = 30


def parse_time(value: Any) -> datetime | None:
    """ARM times as aware UTC: real bodies carry `2024-04-18T03:14:28.1391783` (naive, 7 digits)."""
    return parse_arm_time(value)


def split_id(resource_id: str) -> tuple[str, str]:
    """(subscription, resource group) of an ARM id."""
    match = _ID.search(resource_id)
    if not match:
        raise ValueError(f"not an ARM resource id: {resource_id!r}")
    return match.group(1), match.group(2)


def parse_containers(template: Mapping[str, Any] | None) -> tuple[Container, ...]:
    containers = []
    for raw in (template or {}).get("containers") or []:
        resources = raw.get("resources") or {}
        cpu = resources.get("cpu")
        containers.append(Container(
            name=str(raw.get("name") or ""),
            image=str(raw.get("image") or ""),
            cpu=float(cpu) if cpu is not None else None,
            memory=resources.get("memory"),
            # Names only: values can be secrets and never leave this function.
            env_names=tuple(sorted(str(e.get("name")) for e in raw.get("env") or [] if e.get("name"))),
        ))
    return tuple(containers)


def parse_job(raw: Mapping[str, Any]) -> Job:
    props = raw.get("properties") or {}
    config = props.get("configuration") or {}
    event = config.get("eventTriggerConfig") or {}
    scale = event.get("scale") or {}
    trigger = _trigger_config(config)
    subscription, resource_group = split_id(str(raw["id"]))
    system = raw.get("systemData") or {}
    rules = tuple(
        ScaleRule(
            name=str(rule.get("name") or ""),
            type=str(rule.get("type") or ""),
            metadata={str(k): str(v) for k, v in (rule.get("metadata") or {}).items()},
            uses_identity=bool(rule.get("identity")),
        )
        for rule in scale.get("rules") or []
    )
    return Job(
        ref=JobRef(str(raw["name"]), resource_group, subscription, str(raw["id"])),
        location=str(raw.get("location") or ""),
        environment_id=str(props.get("environmentId") or props.get("managedEnvironmentId") or ""),
        trigger_type=str(config.get("triggerType") or ""),
        replica_timeout_s=_int(config.get("replicaTimeout")),
        replica_retry_limit=_int(config.get("replicaRetryLimit")),
        parallelism=_int(trigger.get("parallelism")) or 1,
        max_executions=_int(scale.get("maxExecutions")) or DEFAULT_MAX_EXECUTIONS,
        polling_interval_s=_int(scale.get("pollingInterval")) or DEFAULT_POLLING_S,
        rules=rules,
        containers=parse_containers(props.get("template")),
        tags={str(k): str(v) for k, v in (raw.get("tags") or {}).items()},
        running_state=props.get("runningState"),
        last_modified_by=system.get("lastModifiedBy"),
        last_modified_at=parse_time(system.get("lastModifiedAt")),
        dependencies=_dependencies(raw, config, rules),
    )


def _trigger_config(config: Mapping[str, Any]) -> Mapping[str, Any]:
    """The trigger's own block: Manual and Schedule jobs keep `parallelism` in theirs, not in eventTriggerConfig."""
    keys = {"event": "eventTriggerConfig", "manual": "manualTriggerConfig", "schedule": "scheduleTriggerConfig"}
    own = keys.get(str(config.get("triggerType") or "").lower())
    ordered = [own] if own else []
    for key in (*ordered, *keys.values()):
        block = config.get(key)
        if isinstance(block, Mapping) and block:
            return block
    return {}


def _dependencies(raw: Mapping[str, Any], config: Mapping[str, Any], rules: tuple[ScaleRule, ...]) -> tuple[str, ...]:
    names: list[str] = []
    for secret in config.get("secrets") or []:
        url = str(secret.get("keyVaultUrl") or "")
        if "://" in url:
            names.append(url.split("://", 1)[1].split(".", 1)[0])  # https://<vault>.vault.azure.net/...
    for registry in config.get("registries") or []:
        server = str(registry.get("server") or "")
        if server:
            names.append(server.split(".", 1)[0])
    for rule in rules:
        names += [rule.metadata[k] for k in ("accountName", "namespace") if rule.metadata.get(k)]
    identity = raw.get("identity") or {}
    if identity.get("principalId"):
        names.append(str(identity["principalId"]))
    for assigned in (identity.get("userAssignedIdentities") or {}).values():
        if (assigned or {}).get("principalId"):
            names.append(str(assigned["principalId"]))
    return tuple(dict.fromkeys(n.lower() for n in names if n))


def parse_execution(raw: Mapping[str, Any]) -> Execution:
    props = raw.get("properties") or {}
    return Execution(
        name=str(raw.get("name") or ""),
        status=ExecutionStatus.parse(props.get("status")),
        start=parse_time(props.get("startTime")),
        end=parse_time(props.get("endTime")),
        containers=parse_containers(props.get("template")),
        reason=props.get("reason"),
        message=props.get("message"),
    )


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
