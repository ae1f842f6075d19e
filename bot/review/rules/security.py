"""Security rules SEC-01 … SEC-12 (review.md §1)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

from bot.errors import NotApplicable
from bot.kql import quote
from bot.review.facts import SOURCE_KINDS, Facts, NotRead, covers, source_ids
from bot.review.findings import Evidence, Fix, Outcome, Pillar, Status
from bot.review.log_reads import az_logs
from bot.review.rule import Rule, az_job, job_source, rule

RULES: list[Rule] = []
SEC = Pillar.SECURITY
CLOSED_ACCESS = frozenset({"disabled", "securedbyperimeter"})  # publicNetworkAccess values that refuse the internet
CREDENTIAL_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|KEY|CONNECTION|SAS|CREDENTIAL", re.IGNORECASE)
# Roles that can do anything to what they cover, or hand out access: never for a workload identity.
BROAD_ROLES = frozenset({"owner", "contributor", "user access administrator",
                         "role based access control administrator"})
DATA_ROLE = re.compile(r"data (owner|contributor|reader|sender|receiver)|secrets? (user|officer)|key vault|blob data",
                       re.IGNORECASE)


@rule(RULES, "SEC-01", SEC, "high", "Managed identity", "PSRule:Azure.ContainerApp.ManagedIdentity")
def managed_identity(f: Facts) -> Outcome:
    kind = f.job.identity_type
    evidence = Evidence(job_source(f), "identity.type", kind or "None")
    fix = Fix(az_job(f, "identity"), "identity:\n-  type: None\n+  type: SystemAssigned")
    if not kind or kind.lower() == "none":
        return Outcome(Status.FAIL, "The job has no managed identity: it must use shared secrets", evidence, fix)
    return Outcome(Status.OK, f"Managed identity: {kind}", evidence, fix)


@rule(RULES, "SEC-02", SEC, "medium", "Secrets in Key Vault", "WAF:Security")
def secrets_in_key_vault(f: Facts) -> Outcome:
    plain = sorted(s.name for s in f.job.secrets if not s.key_vault)
    evidence = Evidence(job_source(f), "properties.configuration.secrets[].keyVaultUrl",
                        {"without_key_vault": plain, "secrets": len(f.job.secrets)})
    fix = Fix(az_job(f, "properties.configuration.secrets[].{name:name,keyVaultUrl:keyVaultUrl}"),
              "secrets:\n-  - {name: NAME}\n+  - {name: NAME, keyVaultUrl: https://VAULT.vault.azure.net/secrets/NAME, "
              "identity: system}")
    if plain:
        return Outcome(Status.WARN, f"{len(plain)} of {len(f.job.secrets)} secrets are stored in the job, not in "
                                    f"Key Vault: {', '.join(plain)}", evidence, fix)
    return Outcome(Status.OK, "Every secret is a Key Vault reference" if f.job.secrets else "The job has no secrets",
                   evidence, fix)


@rule(RULES, "SEC-03", SEC, "high", "Credentials in plain environment variables", "WAF:Security")
def plain_credentials(f: Facts) -> Outcome:
    found = sorted({f"{c.name}/{n}" for c in f.job.containers for n in c.plain_env_names if CREDENTIAL_NAME.search(n)})
    evidence = Evidence(job_source(f), "properties.template.containers[].env[] (value, not secretRef)", found)
    fix = Fix(az_job(f, "properties.template.containers[].env[?value!=null].name"),
              "env:\n-  - {name: DB_PASSWORD, value: …}\n+  - {name: DB_PASSWORD, secretRef: db-password}")
    if found:
        return Outcome(Status.FAIL, f"Credential-like environment variables hold plain values: {', '.join(found)}",
                       evidence, fix)
    return Outcome(Status.OK, "No credential-like environment variable holds a plain value", evidence, fix)


@rule(RULES, "SEC-04", SEC, "medium", "Scaler authenticates by identity", "PSRule:Azure.ServiceBus.DisableLocalAuth")
def scaler_auth(f: Facts) -> Outcome:
    f.event_only()
    by_secret = sorted(r.name for r in f.job.rules if r.auth_secret_refs and not r.uses_identity)
    evidence = Evidence(job_source(f), "properties.configuration.eventTriggerConfig.scale.rules[].auth[].secretRef",
                        by_secret)
    fix = Fix(az_job(f, "properties.configuration.eventTriggerConfig.scale.rules[].{name:name,identity:identity,"
                        "auth:auth}"),
              "rules:\n-  - {name: RULE, auth: [{secretRef: connection, triggerParameter: connection}]}\n"
              "+  - {name: RULE, identity: system}")
    if by_secret:
        return Outcome(Status.WARN, f"Scale rules authenticate with a connection string or key: {', '.join(by_secret)} "
                                    "(the namespace's local auth is not read yet)", evidence, fix)
    return Outcome(Status.OK, "Every scale rule authenticates with a managed identity" if f.job.rules
                   else "The job has no scale rules", evidence, fix)


@rule(RULES, "SEC-05", SEC, "high", "Pull without a shared secret", "PSRule:Azure.ACR.AdminUser")
def registry_pull(f: Facts) -> Outcome:
    with_password = sorted(r.server for r in f.job.registries if r.password_secret_ref)
    admin = sorted(name for name, body in f.registries.items()
                   if (body.get("properties") or {}).get("adminUserEnabled") is True)
    unread = sorted(k.removeprefix("registry ") + f" ({v})" for k, v in f.unread.items() if k.startswith("registry "))
    observed = {"password_secret_ref": with_password, "admin_user_enabled": admin}
    if admin:
        name = admin[0]
        return Outcome(Status.FAIL, f"Registry admin user is enabled: {', '.join(admin)}",
                       Evidence(f"GET Microsoft.ContainerRegistry/registries/{name}", "properties.adminUserEnabled",
                                True),
                       Fix(f"az acr show --name {shlex.quote(name)} --query adminUserEnabled",
                           "registries:\n-  - {server: SERVER, username: USER, passwordSecretRef: PW}\n"
                           "+  - {server: SERVER, identity: system}"))
    evidence = Evidence(job_source(f), "properties.configuration.registries[]", observed)
    fix = Fix(az_job(f, "properties.configuration.registries"),
              "registries:\n-  - {server: SERVER, username: USER, passwordSecretRef: PW}\n+  - {server: SERVER, "
              "identity: system}")
    note = f" (registry not read: {'; '.join(unread)})" if unread else ""
    if with_password:
        return Outcome(Status.WARN, f"Images are pulled with a password: {', '.join(with_password)}{note}",
                       evidence, fix)
    return Outcome(Status.OK, ("Registries are pulled with a managed identity" if f.job.registries
                               else "No private registry credentials") + note, evidence, fix)


@rule(RULES, "SEC-06", SEC, "high", "Who can change the job, its images and identity", "WAF:RBAC", "MCSB:PA-7")
def writers(f: Facts) -> Outcome:
    # Judged by built-in role names (Owner, Contributor, UAA, *Contributor); a custom role's actions are not
    # read yet, so a custom role granting Microsoft.App/jobs/write is not counted.
    ref = f.job.ref
    rg_scope = f"/subscriptions/{ref.subscription}/resourcegroups/{ref.resource_group}".lower()
    found = [g for g in f.grants() if covers(g.scope, ref.id) and _writes(g.role)]
    people = sorted({f"{g.role} to {g.principal_id} at {g.scope}" for g in found if (g.principal_type or "") == "User"
                     and g.scope.rstrip("/").lower() in (ref.id.lower(), rg_scope)})
    principals = {g.principal_id for g in found}
    evidence = Evidence("GET Microsoft.Authorization/roleAssignments (atScope() of the job)",
                        "properties.{roleDefinitionId -> roleName, principalType, scope}",
                        sorted(f"{g.role} {g.principal_type or '?'} {g.principal_id} at {g.scope}" for g in found))
    fix = Fix(f"az role assignment list --scope {shlex.quote(ref.id)} --include-inherited --query "
              "'[].{role:roleDefinitionName,who:principalName,type:principalType,scope:scope}'",
              "- a write role to a person on the job or its resource group\n+ the role to a group or the pipeline's "
              "identity; people get Reader and go through the pipeline")
    if people:
        return Outcome(Status.FAIL, f"People hold write roles directly on the job or its resource group: "
                                    f"{'; '.join(people)}", evidence, fix)
    if len(principals) > f.settings.max_writers:
        return Outcome(Status.WARN, f"{len(principals)} principals can change the job (more than "
                                    f"{f.settings.max_writers})", evidence, fix)
    return Outcome(Status.OK, f"{len(principals)} principal(s) can change the job, none a person assigned directly",
                   evidence, fix)


def _writes(role: str) -> bool:
    name = role.lower()
    return name in BROAD_ROLES or name.endswith("contributor")


@rule(RULES, "SEC-07", SEC, "high", "Identity least privilege", "WAF:Security")
def least_privilege(f: Facts) -> Outcome:
    if not f.job.identity_principals:
        raise NotApplicable("the job has no managed identity")
    mine = set(f.job.identity_principals)
    grants = [g for g in f.grants() if g.principal_id in mine]
    broad = sorted({f"{g.role} at {g.scope}" for g in grants if g.role.lower() in BROAD_ROLES})
    sub_scope = re.compile(r"^/subscriptions/[^/]+/?$", re.IGNORECASE)
    data_at_sub = sorted({f"{g.role} at {g.scope}" for g in grants
                          if DATA_ROLE.search(g.role) and sub_scope.match(g.scope)})
    principal = f.job.identity_principals[0] if f.job.identity_principals else "PRINCIPAL_ID"
    evidence = Evidence("GET Microsoft.Authorization/roleAssignments (principalId of the job's identities)",
                        "properties.roleDefinitionId -> roleName, properties.scope",
                        sorted(f"{g.role} at {g.scope}" for g in grants))
    fix = Fix(f"az role assignment list --assignee {shlex.quote(principal)} --all --query "
              "'[].{role:roleDefinitionName,scope:scope}'",
              "- Owner on the resource group\n+ the data role the job needs, on the one resource it reads")
    if broad:
        return Outcome(Status.FAIL, f"The job's identity holds broad roles: {'; '.join(broad)}", evidence, fix)
    if data_at_sub:
        return Outcome(Status.WARN, f"Data roles granted on the whole subscription: {'; '.join(data_at_sub)}",
                       evidence, fix)
    return Outcome(Status.OK, f"The job's identity holds {len(grants)} narrow role assignment(s)" if grants
                   else "The job's identity holds no role assignment", evidence, fix)


def _person(caller: str) -> bool:
    """A UPN is a person; applications and managed identities appear by object id."""
    return "@" in caller


@rule(RULES, "SEC-08", SEC, "medium", "Secret reads and access changes are intentional")
def secret_reads(f: Facts) -> Outcome:
    rows = f.rows("audit_activity")
    approved = {c.lower() for c in f.settings.approved_callers}
    # One operation appears once per status (Started, Succeeded …): judged once, by its correlation id.
    operations: dict[tuple[str, str], tuple[str, str]] = {}
    for row in rows:
        caller, operation = str(row.get("Caller") or ""), str(row.get("OperationNameValue") or "")
        operations[(str(row.get("CorrelationId") or row.get("TimeGenerated")), operation.lower())] = (caller, operation)
    reads = sorted({c for c, op in operations.values() if op.lower().endswith("/listsecrets/action")})
    changes = sorted({c for c, op in operations.values() if "/roleassignments/" in op.lower()})
    evidence = Evidence("audit_activity.kql (Activity Log, 30 d)",
                        "listSecrets on the job; roleAssignments write/delete on the job, its group and vaults",
                        {"secret_reads_by": reads, "access_changes_by": changes, "approved_callers": sorted(approved)})
    ref = f.job.ref
    fix = Fix(f"az monitor activity-log list --resource-group {shlex.quote(ref.resource_group)} --offset 30d --query "
              "\"[?contains(operationName.value, 'listSecrets') || contains(operationName.value, 'roleAssignments')]"
              ".{op:operationName.value,caller:caller,time:eventTimestamp}\"")
    by_people = [c for c in reads if _person(c)]
    if by_people:
        return Outcome(Status.FAIL, f"Secrets of the job were listed by a person: {', '.join(by_people)} (a secret "
                                    "value left Azure; rotate it)", evidence, fix)
    unapproved = sorted({c for c in (*reads, *changes) if c and c.lower() not in approved})
    if unapproved:
        return Outcome(Status.WARN, f"Secret reads or access changes by callers outside approved_callers: "
                                    f"{', '.join(unapproved)}", evidence, fix)
    if not operations:
        return Outcome(Status.OK, "No secret reads and no access changes in 30 days", evidence, fix)
    return Outcome(Status.OK, f"{len(operations)} secret read(s) or access change(s) in 30 days, all by approved "
                              "callers", evidence, fix)


@rule(RULES, "SEC-09", SEC, "medium", "Key Vault posture", "PSRule:Azure.KeyVault.RBAC",
      "PSRule:Azure.KeyVault.SoftDelete", "PSRule:Azure.KeyVault.PurgeProtect")
def key_vault_posture(f: Facts) -> Outcome:
    names = sorted({s.vault for s in f.job.secrets if s.vault})
    if not names:
        raise NotApplicable("the job has no Key Vault references")
    unread = [f"{n}: {f.unread[f'vault {n}']}" for n in names if n not in f.vaults]
    if unread:  # looked for in the job's resource group; elsewhere needs Resource Graph (N10)
        raise NotRead("Key Vault not read (" + "; ".join(unread) + ")")
    props = {n: f.vaults[n].get("properties") or {} for n in names}
    observed = {n: {k: p.get(k) for k in ("enableSoftDelete", "enablePurgeProtection", "enableRbacAuthorization")}
                for n, p in props.items()}
    first = names[0]
    evidence = Evidence(f"GET Microsoft.KeyVault/vaults/{first}", "properties.{enableSoftDelete,enablePurgeProtection,"
                        "enableRbacAuthorization}", observed)
    fix = Fix(f"az keyvault show --name {shlex.quote(first)} --query "
              "'properties.{softDelete:enableSoftDelete,purge:enablePurgeProtection,rbac:enableRbacAuthorization}'")
    no_soft = [n for n, p in props.items() if p.get("enableSoftDelete") is False]
    if no_soft:
        return Outcome(Status.FAIL, f"Soft delete is off on {', '.join(no_soft)}: a deleted secret is gone",
                       evidence, fix)
    gaps = (("enablePurgeProtection", "no purge protection"), ("enableRbacAuthorization", "access policies, not RBAC"))
    weak = [f"{n} ({', '.join(w)})" for n, p in props.items()
            if (w := [text for key, text in gaps if p.get(key) is not True])]
    if weak:
        return Outcome(Status.WARN, f"Key Vault posture: {'; '.join(weak)}", evidence, fix)
    return Outcome(Status.OK, f"Key Vault {', '.join(names)}: RBAC, soft delete and purge protection on",
                   evidence, fix)


def _public(body: Mapping[str, Any]) -> bool:
    """Whether a storage account, Service Bus namespace or Key Vault takes traffic from the internet: public
    network access not disabled and no network rule denying by default (Azure's defaults allow all)."""
    properties = body.get("properties") or {}
    if str(properties.get("publicNetworkAccess") or "").lower() in CLOSED_ACCESS:
        return False
    return str((properties.get("networkAcls") or {}).get("defaultAction") or "").lower() != "deny"


def _network_cmd(f: Facts, key: str) -> str:
    kind, _, name = key.partition(" ")
    group = shlex.quote(f.job.ref.resource_group)
    if kind == "storage":
        return (f"az storage account show --name {shlex.quote(name)} --resource-group {group} --query "
                "'{public:publicNetworkAccess,default:networkAcls.defaultAction}'")
    if kind == "namespace":
        return (f"az servicebus namespace show --name {shlex.quote(name)} --resource-group {group} "
                "--query publicNetworkAccess")
    return (f"az keyvault show --name {shlex.quote(name)} --query "
            "'{public:properties.publicNetworkAccess,default:properties.networkAcls.defaultAction}'")


@rule(RULES, "SEC-10", SEC, "low", "Network path", "PSRule:Azure.ContainerApp.PublicAccess")
def network_path(f: Facts) -> Outcome:
    env = f.environment()
    properties = env.get("properties") or {}
    subnet = (properties.get("vnetConfiguration") or {}).get("infrastructureSubnetId")
    reached = sorted({*source_ids(f.job), *(f"vault {s.vault}" for s in f.job.secrets if s.vault)})
    bodies = {**f.event_sources, **{f"vault {n}": b for n, b in f.vaults.items()}}
    public = [k for k in reached if k in bodies and _public(bodies[k])]
    env_name = str(env.get("name") or f.job.environment_id.rsplit("/", 1)[-1])
    evidence = Evidence(f"GET Microsoft.App/managedEnvironments/{env_name}; the event sources and vaults",
                        "env.vnetConfiguration.infrastructureSubnetId; publicNetworkAccess, networkAcls.defaultAction",
                        {"vnet_subnet": subnet, "environment_public_access": properties.get("publicNetworkAccess"),
                         "public": public, "private": [k for k in reached if k in bodies and k not in public]})
    group = f.job.environment_id.split("/resourceGroups/", 1)[-1].split("/", 1)[0] or f.job.ref.resource_group
    env_cmd = (f"az containerapp env show --name {shlex.quote(env_name)} --resource-group {shlex.quote(group)} "
               "--query properties.vnetConfiguration")
    if subnet:
        return Outcome(Status.OK, f"The environment runs in a virtual network ({subnet.rsplit('/', 1)[-1]})",
                       evidence, Fix(env_cmd))
    if public:
        note = " (a namespace's network rule set is not read)" if any(k.startswith("namespace ") for k in public) \
            else ""
        return Outcome(Status.WARN, f"No virtual network, and what the job reaches takes traffic from the internet: "
                                    f"{', '.join(public)}{note}", evidence,
                       Fix(_network_cmd(f, public[0]), "- publicNetworkAccess: Enabled\n+ publicNetworkAccess: "
                                                      "Disabled (a private endpoint in the environment's VNet)"))
    unread = [f"{k}: {f.unread.get(k, 'not read')}" for k in reached if k not in bodies]
    unnamed = sorted(r.name for r in f.job.rules if r.type in SOURCE_KINDS and
                     not r.metadata.get(SOURCE_KINDS[r.type][1]))
    if unread or unnamed:
        raise NotRead("network access not read for " + "; ".join(
            [*unread, *(f"rule {n}: its event source is not named in its metadata" for n in unnamed)]))
    if not reached:
        return Outcome(Status.OK, "No virtual network, but the job reaches no event source or Key Vault",
                       evidence, Fix(env_cmd))
    return Outcome(Status.OK, f"No virtual network, but {', '.join(reached)} refuse traffic from the internet",
                   evidence, Fix(env_cmd))


@rule(RULES, "SEC-11", SEC, "high", "Logs leak credentials", "WAF:scrub-logs")
def secret_shaped_logs(f: Facts) -> Outcome:
    rows = f.rows("secret_shaped_logs")  # counts by kind: the lines themselves are never read
    kinds = {str(r.get("Kind")): int(r.get("Lines") or 0) for r in rows}
    lines = sum(kinds.values())
    executions = max((int(r.get("Executions") or 0) for r in rows), default=0)
    evidence = Evidence("secret_shaped_logs.kql (console logs; counts only)", "console lines shaped like credentials",
                        {"lines": lines, "by_kind": kinds})
    job = quote(f.job.ref.name)  # the one helper that makes a value KQL text
    fix = Fix(az_logs(
        f, f"ContainerAppConsoleLogs_CL | where ContainerJobName_s =~ {job} and Log_s matches regex "
           "@\"(?i)(password|secret|token|accountkey|sharedaccesskey|sig)=|bearer |eyJ\" | count",
        f"ContainerAppConsoleLogs | where JobName =~ {job} and Log matches regex "
        "@\"(?i)(password|secret|token|accountkey|sharedaccesskey|sig)=|bearer |eyJ\" | count"))
    if lines:
        shown = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items(), key=lambda k: (-k[1], k[0])))
        return Outcome(Status.FAIL, f"{lines} console line(s) look like credentials ({shown}; in up to {executions} "
                                    "executions): rotate them and stop logging them", evidence, fix)
    return Outcome(Status.OK, "No console line looks like a credential", evidence, fix)


@rule(RULES, "SEC-12", SEC, "low", "Who reads the logs")
def log_readers(f: Facts) -> Outcome:
    workspace = f.workspace()
    features = (workspace.get("properties") or {}).get("features") or {}
    resource_only = features.get("enableLogAccessUsingOnlyResourcePermissions")
    name = str(workspace.get("name") or "")
    evidence = Evidence(f"GET Microsoft.OperationalInsights/workspaces/{name}",
                        "properties.features.enableLogAccessUsingOnlyResourcePermissions", resource_only)
    fix = Fix(f"az monitor log-analytics workspace show --ids {shlex.quote(str(workspace.get('id') or ''))} "
              "--query features.enableLogAccessUsingOnlyResourcePermissions",
              "-  enableLogAccessUsingOnlyResourcePermissions: false\n"
              "+  enableLogAccessUsingOnlyResourcePermissions: true")
    if resource_only is True:
        return Outcome(Status.OK, f"Workspace {name} lets a job's logs be read with access to the job "
                                  "(resource-context permissions)", evidence, fix)
    why = "is off" if resource_only is False else "is not set"
    return Outcome(Status.WARN, f"Resource-context access {why} on workspace {name}: reading the job's logs "
                                "takes read access to the whole workspace, so whoever reads any log there reads "
                                "these too", evidence, fix)
