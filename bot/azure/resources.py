"""ARM REST JSON (camelCase, as GET returns it) -> core model. One function per shape, no SDK types."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.evidence.arm_time import parse_arm_time
from bot.model import (
    SYSTEM_ASSIGNED,
    Access,
    AccessKind,
    Container,
    Execution,
    ExecutionStatus,
    Identity,
    Job,
    JobRef,
    RegistryRef,
    ScaleRule,
    SecretRef,
)

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
            plain_env_names=tuple(sorted(str(e.get("name")) for e in raw.get("env") or []
                                         if e.get("name") and "value" in e and not e.get("secretRef"))),
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
    identities = _identities(raw)
    identity = raw.get("identity") or {}
    rules = tuple(
        ScaleRule(
            name=str(rule.get("name") or ""),
            type=str(rule.get("type") or ""),
            metadata={str(k): str(v) for k, v in (rule.get("metadata") or {}).items()},
            uses_identity=bool(rule.get("identity")),
            auth_secret_refs=tuple(sorted(str(a.get("secretRef")) for a in rule.get("auth") or []
                                          if isinstance(a, Mapping) and a.get("secretRef"))),
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
        identities=identities,
        access=_access(config, scale.get("rules") or [], identities),
        identity_type=str(identity.get("type")) if identity.get("type") else None,
        identity_principals=_principals(identity),
        secrets=tuple(
            SecretRef(str(s.get("name") or ""), key_vault=bool(s.get("keyVaultUrl")),
                      identity=str(s["identity"]) if s.get("identity") else None,
                      vault=_vault_name(str(s.get("keyVaultUrl") or "")))
            for s in config.get("secrets") or [] if isinstance(s, Mapping)
        ),
        registries=tuple(
            RegistryRef(str(r.get("server") or ""), identity=str(r["identity"]) if r.get("identity") else None,
                        username=str(r["username"]) if r.get("username") else None,
                        password_secret_ref=str(r["passwordSecretRef"]) if r.get("passwordSecretRef") else None)
            for r in config.get("registries") or [] if isinstance(r, Mapping)
        ),
        min_executions=_int(scale.get("minExecutions")),
        replica_completion_count=_int(trigger.get("replicaCompletionCount")),
        workload_profile=str(props["workloadProfileName"]) if props.get("workloadProfileName") else None,
        provisioning_state=str(props["provisioningState"]) if props.get("provisioningState") else None,
        last_modified_by_type=str(system["lastModifiedByType"]) if system.get("lastModifiedByType") else None,
    )


def _vault_name(url: str) -> str | None:
    return url.split("://", 1)[1].split(".", 1)[0].lower() if "://" in url else None


def _principals(identity: Mapping[str, Any]) -> tuple[str, ...]:
    found = [str(identity["principalId"])] if identity.get("principalId") else []
    found += [str(v["principalId"]) for v in (identity.get("userAssignedIdentities") or {}).values()
              if isinstance(v, Mapping) and v.get("principalId")]
    return tuple(sorted({p.lower() for p in found}))


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


def _identities(raw: Mapping[str, Any]) -> tuple[Identity, ...]:
    block = raw.get("identity") or {}
    found: list[Identity] = []
    if block.get("principalId"):
        found.append(Identity(SYSTEM_ASSIGNED, str(block["principalId"]).lower()))
    for resource_id, assigned in sorted((block.get("userAssignedIdentities") or {}).items()):
        if (assigned or {}).get("principalId"):
            found.append(Identity(str(resource_id).rstrip("/").rsplit("/", 1)[-1], str(assigned["principalId"]).lower(),
                                  str(resource_id)))
    return tuple(found)


def _access(config: Mapping[str, Any], rules: Any, identities: tuple[Identity, ...]) -> tuple[Access, ...]:
    """What the job reaches with which identity: secret references, registry pulls, scale rules with `identity`
    ("system" or a user-assigned identity's id). A reference to an identity the job does not have is left out."""

    def principal(reference: Any) -> str | None:
        ref = str(reference or "").strip().lower()
        if not ref:
            return None
        if ref == "system":
            return next((i.principal_id for i in identities if i.resource_id is None), None)
        return next((i.principal_id for i in identities if (i.resource_id or "").lower() == ref), None)

    found: list[Access] = []
    for secret in config.get("secrets") or []:
        url = str(secret.get("keyVaultUrl") or "")
        who = principal(secret.get("identity"))
        if "://" in url and who:
            host, _, path = url.split("://", 1)[1].partition("/")
            parts = path.strip("/").split("/")  # secrets/<name>[/<version>]
            item = parts[1] if len(parts) >= 2 and parts[0].lower() == "secrets" else None
            found.append(Access(AccessKind.KEY_VAULT, host.split(".", 1)[0].lower(), who, item))
    for registry in config.get("registries") or []:
        who = principal(registry.get("identity"))
        if registry.get("server") and who:
            found.append(Access(AccessKind.REGISTRY, str(registry["server"]).split(".", 1)[0].lower(), who))
    for rule in rules:
        who, meta = principal(rule.get("identity")), rule.get("metadata") or {}
        kind = str(rule.get("type") or "").lower()
        if who and kind == "azure-queue" and meta.get("accountName"):
            found.append(Access(AccessKind.STORAGE_QUEUE, str(meta["accountName"]).lower(), who,
                                str(meta.get("queueName") or "") or None))
        elif who and kind == "azure-servicebus" and meta.get("namespace"):
            found.append(Access(AccessKind.SERVICE_BUS, str(meta["namespace"]).lower(), who))
    return tuple(dict.fromkeys(found))


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
