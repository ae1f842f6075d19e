"""Read-only change evidence at the edge: Resource Graph change history, role assignments, and any
resource the job depends on, as the raw JSON Azure serves (parsing is the evidence core's job).

- `resource_changes`: rows of Resource Graph's `resourcechanges` table through the Resource Graph query
  (`POST /providers/Microsoft.ResourceGraph/resources`, a read; `azure-mgmt-resourcegraph`), running
  the canned `kql/resource_changes.kql` over every subscription the identity can read, every page
  (`$skipToken`) up to `MAX_ROWS`;
- `role_assignments`: `GET {scope}/providers/Microsoft.Authorization/roleAssignments`
  (`azure-mgmt-authorization`, API 2022-04-01): each principal's assignments in the configured
  subscriptions and those of the scopes (`principalId eq '{id}'`: at, above and below the subscription,
  as the 2022-04-01 reference documents it), and each scope's own (`atScope()`: at or above it),
  deduplicated by id, in ARM's JSON shape;
- `role_definition`: one role definition by id (its `roleName`);
- `resource`: a plain ARM GET of one resource id, with the API version of its type;
- `environment_usages`: a managed environment's quota usages (`azure-mgmt-appcontainers`
  `managed_environment_usages.list`, GET `{environment}/usages`): cores in use against the limit;
- `workspace`: a Log Analytics workspace's ARM id by its customer id (for portal links): from config
  (`logs.workspaces`), else the canned `kql/workspace_by_customer_id.kql` through the same Resource Graph
  query; cached for the reader's lifetime (a workspace's id never changes), a miss for `WORKSPACE_MISS_TTL_S`.

Azure errors leave as UpstreamError (`bot.azure.faults`); a 404 of `resource` as ResourceNotFound.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.core.rest import HttpRequest
from azure.mgmt.appcontainers.aio import ContainerAppsAPIClient
from azure.mgmt.authorization.aio import AuthorizationManagementClient
from azure.mgmt.monitor.aio import MonitorManagementClient
from azure.mgmt.resourcegraph.aio import ResourceGraphClient
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

from bot.azure.endpoints import Endpoints
from bot.azure.faults import reason, upstream
from bot.errors import NotApplicable, ResourceNotFound, UpstreamError
from bot.kql import render_inline

GRAPH = "Azure Resource Graph"
ARM = "Azure Resource Manager"
AUTHORIZATION = "Azure role assignments"
MONITOR = "Azure Monitor alert rules"
APPS = "Azure Container Apps (ARM)"
_GROUP = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/?$", re.IGNORECASE)
_ACTION_GROUP = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
                           r"microsoft\.insights/actionGroups/(?P<name>[^/]+)$", re.IGNORECASE)
PAGE_ROWS = 1000  # Resource Graph's largest $top
MAX_ROWS = 5000  # stop paging after this many: a triage needs the recent changes, not all of them
GRAPH_API = "2021-03-01"  # azure-mgmt-resourcegraph 8.0's default
WORKSPACE_MISS_TTL_S = 600.0  # a workspace not found yet may be one the identity is granted Reader on soon
MAX_WORKSPACES = 256  # located ids kept; a deployment reads a handful of workspaces

# The API version of each resource type `resource` reads: the newest stable version of the official
# example bodies in ../shared/azure-samples (tests/fixtures/azure/SOURCES.md names them).
API_VERSIONS: dict[str, str] = {
    "microsoft.app/managedenvironments": "2026-07-01",
    "microsoft.app/jobs": "2026-07-01",
    "microsoft.managedidentity/userassignedidentities": "2026-05-31",
    "microsoft.keyvault/vaults": "2026-02-01",
    "microsoft.containerregistry/registries": "2025-04-01",
    "microsoft.storage/storageaccounts": "2026-09-01",
    "microsoft.servicebus/namespaces": "2026-01-01",
    "microsoft.servicebus/namespaces/queues": "2026-01-01",
    "microsoft.servicebus/namespaces/topics": "2026-01-01",
    "microsoft.servicebus/namespaces/topics/subscriptions": "2026-01-01",
    "microsoft.operationalinsights/workspaces": "2026-03-01",
    "microsoft.authorization/roleassignments": "2022-04-01",
    "microsoft.authorization/roledefinitions": "2022-04-01",
    "microsoft.insights/diagnosticsettings": "2021-05-01-preview",  # a resource's settings, listed (evidence pack)
}
_ENVIRONMENT = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
                          r"Microsoft\.App/managedEnvironments/(?P<name>[^/]+)/?$", re.IGNORECASE)
_SUBSCRIPTION = re.compile(r"^/subscriptions/(?P<sub>[^/]+)", re.IGNORECASE)


def resource_type(resource_id: str) -> str:
    """`Microsoft.KeyVault/vaults` of a vault's id; `…/namespaces/queues` of a queue's (lower-cased)."""
    _, sep, tail = resource_id.lower().rpartition("/providers/")
    if not sep:
        raise ValueError(f"not a resource id: {resource_id}")
    parts = tail.strip("/").split("/")
    namespace, rest = parts[0], parts[1:]
    return "/".join([namespace, *rest[0::2]])


def subscription_of(resource_id: str) -> str | None:
    match = _SUBSCRIPTION.match(resource_id)
    return match["sub"] if match else None


class AzureChangesReader:
    """Implements the ChangesReader port over azure-mgmt-resourcegraph and azure-mgmt-authorization."""

    def __init__(self, credential: Any, subscriptions: Sequence[str], endpoints: Endpoints, *,
                 workspaces: Mapping[str, str] | None = None) -> None:
        self._credential = credential
        self._configured = {k.lower(): v for k, v in (workspaces or {}).items()}  # customer id -> ARM id
        self._located: dict[str, Mapping[str, Any]] = {}  # customer id -> the workspace (id, properties)
        self._missed: dict[str, float] = {}  # customer id -> when Resource Graph last found none
        self._subscriptions = list(subscriptions)
        self._endpoints = endpoints
        self._graph: ResourceGraphClient | None = None
        self._auth: dict[str, AuthorizationManagementClient] = {}
        self._monitor: dict[str, MonitorManagementClient] = {}
        self._arm: ContainerAppsAPIClient | None = None
        self._apps: dict[str, ContainerAppsAPIClient] = {}

    def _graph_client(self) -> ResourceGraphClient:
        if self._graph is None:
            self._graph = ResourceGraphClient(
                self._credential, base_url=self._endpoints.arm, **self._endpoints.client_kwargs()
            )
        return self._graph

    def _arm_client(self) -> ContainerAppsAPIClient:
        """Any generated ARM client will do for a plain GET: `send_request` uses its pipeline (auth, retries)."""
        if self._arm is None:
            subscription = self._subscriptions[0] if self._subscriptions else "00000000-0000-0000-0000-000000000000"
            self._arm = ContainerAppsAPIClient(
                self._credential, subscription, base_url=self._endpoints.arm, **self._endpoints.client_kwargs()
            )
        return self._arm

    def _apps_client(self, subscription: str) -> ContainerAppsAPIClient:
        if subscription not in self._apps:
            self._apps[subscription] = ContainerAppsAPIClient(
                self._credential, subscription, base_url=self._endpoints.arm, **self._endpoints.client_kwargs()
            )
        return self._apps[subscription]

    def _auth_client(self, subscription: str) -> AuthorizationManagementClient:
        if subscription not in self._auth:
            self._auth[subscription] = AuthorizationManagementClient(
                self._credential, subscription, base_url=self._endpoints.arm, **self._endpoints.client_kwargs()
            )
        return self._auth[subscription]

    def _monitor_client(self, subscription: str) -> MonitorManagementClient:
        if subscription not in self._monitor:
            self._monitor[subscription] = MonitorManagementClient(
                self._credential, subscription, base_url=self._endpoints.arm, **self._endpoints.client_kwargs()
            )
        return self._monitor[subscription]

    async def close(self) -> None:
        for monitor in self._monitor.values():
            await monitor.close()
        if self._graph is not None:
            await self._graph.close()
        if self._arm is not None:
            await self._arm.close()
        for apps in self._apps.values():
            await apps.close()
        for client in self._auth.values():
            await client.close()  # type: ignore[no-untyped-call]

    # -- Resource Graph ----------------------------------------------------------------------------

    async def resource_changes(
        self, resource_ids: Sequence[str], since: datetime, related: Sequence[str] = ()
    ) -> Sequence[Mapping[str, Any]]:
        ids = sorted({i.lower() for i in resource_ids if i})
        names = sorted({n.lower() for n in related if n})
        if not ids and not names:
            return []
        # Resource Graph has no `let`: the parameters are inlined (still only through bot.kql.quote).
        query = render_inline("resource_changes", resource_ids=ids, related=names, start=since)
        rows: list[Mapping[str, Any]] = []
        token: str | None = None
        async with upstream(GRAPH), _no_404(GRAPH):
            while True:
                options = QueryRequestOptions(result_format="objectArray", top=PAGE_ROWS, skip_token=token)
                # No `subscriptions`: the query runs over every subscription the identity can read, as a
                # dependency (a shared Key Vault or registry) often lives in another one.
                response = await self._graph_client().resources(QueryRequest(query=query, options=options))
                data = response.data
                if not isinstance(data, list):
                    raise UpstreamError(f"{GRAPH} answered rows in an unexpected shape ({type(data).__name__})")
                rows += [row for row in data if isinstance(row, Mapping)]
                token = response.skip_token
                if not token or len(rows) >= MAX_ROWS:
                    return rows

    # -- role assignments ----------------------------------------------------------------------------

    async def role_assignments(
        self, principal_ids: Sequence[str], scopes: Sequence[str]
    ) -> Sequence[Mapping[str, Any]]:
        subscriptions = sorted({s for scope in scopes if (s := subscription_of(scope))} | set(self._subscriptions))
        lookups: list[tuple[str, str, str]] = [
            (sub, f"/subscriptions/{sub}", f"principalId eq '{principal}'")
            for principal in sorted(set(principal_ids)) for sub in subscriptions
        ]
        lookups += [
            (subscription_of(scope) or subscriptions[0], scope, "atScope()") for scope in sorted(set(scopes)) if scope
        ]
        lists = await asyncio.gather(*(self._assignments(*lookup) for lookup in lookups))
        found: dict[str, Mapping[str, Any]] = {}
        for items in lists:
            for item in items:
                found.setdefault(str(item.get("id", "")).lower(), item)
        return [found[key] for key in sorted(found)]

    async def _assignments(self, subscription: str, scope: str, filter_text: str) -> list[Mapping[str, Any]]:
        try:
            async with upstream(AUTHORIZATION):
                pages = self._auth_client(subscription).role_assignments.list_for_scope(scope, filter=filter_text)
                return [item.serialize(keep_readonly=True) async for item in pages]
        except ResourceNotFoundError:
            return []  # the scope itself is gone: nothing is assigned there (the resource read says it is gone)

    async def role_definition(self, definition_id: str) -> Mapping[str, Any]:
        """A role definition by its id (tenant- or subscription-level), in ARM's JSON shape."""
        subscription = subscription_of(definition_id) or self._subscriptions[0]
        try:
            async with upstream(AUTHORIZATION):
                found = await self._auth_client(subscription).role_definitions.get_by_id(definition_id)
        except ResourceNotFoundError as error:
            raise ResourceNotFound(definition_id) from error
        body: Mapping[str, Any] = found.serialize(keep_readonly=True)
        return body

    # -- alert rules and action groups (azure-mgmt-monitor) ----------------------------------------------

    async def alert_rules(self, resource_group_id: str) -> Mapping[str, Sequence[Mapping[str, Any]]]:
        match = _GROUP.match(resource_group_id)
        if match is None:
            raise UpstreamError(f"not a resource group id: {resource_group_id[:120]}")
        client, group = self._monitor_client(match["sub"]), match["rg"]

        async def listed(pages: Any) -> list[Mapping[str, Any]]:
            async with upstream(MONITOR):
                return [item.serialize(keep_readonly=True) async for item in pages]

        metric, scheduled, activity = await asyncio.gather(
            listed(client.metric_alerts.list_by_resource_group(group)),
            listed(client.scheduled_query_rules.list_by_resource_group(group)),
            listed(client.activity_log_alerts.list_by_resource_group(group)))
        return {"metric": _by_id(metric), "scheduled_query": _by_id(scheduled), "activity_log": _by_id(activity)}

    async def action_group(self, group_id: str) -> Mapping[str, Any]:
        match = _ACTION_GROUP.match(group_id)
        if match is None:
            raise ResourceNotFound(group_id)
        try:
            async with upstream(MONITOR):
                found = await self._monitor_client(match["sub"]).action_groups.get(match["rg"], match["name"])
        except ResourceNotFoundError as error:
            raise ResourceNotFound(group_id) from error
        body: Mapping[str, Any] = found.serialize(keep_readonly=True)
        return body

    # -- the environment's quota usages (azure-mgmt-appcontainers) ---------------------------------------

    async def environment_usages(self, environment_id: str) -> Sequence[Mapping[str, Any]]:
        match = _ENVIRONMENT.match(environment_id)
        if match is None:
            raise NotApplicable(f"not a managed environment id: {environment_id[:120]}")
        try:
            async with upstream(APPS):
                pages = self._apps_client(match["sub"]).managed_environment_usages.list(match["rg"], match["name"])
                items: list[Mapping[str, Any]] = [item.as_dict() async for item in pages]
        except ResourceNotFoundError as error:
            raise ResourceNotFound(environment_id) from error
        return sorted(items, key=lambda item: str((item.get("name") or {}).get("value", "")).lower())

    # -- where a workspace is ------------------------------------------------------------------------

    async def workspace(self, customer_id: str) -> str | None:
        key = customer_id.strip().lower()
        if key in self._configured:
            return self._configured[key]
        found = await self._locate(key)
        return str(found["id"]) if found is not None else None

    async def workspace_resource(self, customer_id: str) -> Mapping[str, Any] | None:
        key = customer_id.strip().lower()
        if key in self._configured:
            return await self.resource(self._configured[key])
        return await self._locate(key)

    async def _locate(self, key: str) -> Mapping[str, Any] | None:
        """The workspace with customer id `key` as Resource Graph has it (`id`, `properties`): one query
        gives both, so nothing waits for a GET after it. Cached for the reader's lifetime; a miss for a while."""
        if key in self._located:
            return self._located[key]
        missed = self._missed.get(key)
        if missed is not None and time.monotonic() - missed < WORKSPACE_MISS_TTL_S:
            return None
        query = render_inline("workspace_by_customer_id", customer_id=key)
        async with upstream(GRAPH), _no_404(GRAPH):
            response = await self._graph_client().resources(
                QueryRequest(query=query, options=QueryRequestOptions(result_format="objectArray", top=1)))
        data: list[Any] = response.data if isinstance(response.data, list) else []
        found = next(({"id": str(row["id"]), "properties": row.get("properties") or {}}
                      for row in data if isinstance(row, Mapping) and row.get("id")), None)
        if found is None:
            self._missed[key] = time.monotonic()
        elif len(self._located) < MAX_WORKSPACES:
            self._located[key] = found
        return found

    # -- any resource ----------------------------------------------------------------------------------

    async def resource(self, resource_id: str) -> Mapping[str, Any]:
        try:
            kind = resource_type(resource_id)
        except ValueError as error:
            raise NotApplicable(str(error)) from error
        api_version = API_VERSIONS.get(kind)
        if api_version is None:
            raise NotApplicable(f"jobbot does not read {kind} resources")
        async with upstream(ARM):
            request = HttpRequest("GET", f"{resource_id}?api-version={api_version}")
            response = await self._arm_client().send_request(request)
        if response.status_code == 404:
            raise ResourceNotFound(resource_id)
        if response.status_code >= 400:
            code = _error_code(response)
            raise UpstreamError(f"{ARM} answered HTTP {response.status_code}" + (f" ({code})" if code else "")
                                + f" for {resource_id}")
        body: Mapping[str, Any] = response.json()
        return body


def _by_id(items: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """ARM promises no list order: one by id."""
    return sorted(items, key=lambda item: str(item.get("id", "")).lower())


@asynccontextmanager
async def _no_404(service: str) -> AsyncIterator[None]:
    """A 404 where no resource is named (a query) is the service failing, not a missing resource."""
    try:
        yield
    except ResourceNotFoundError as error:
        raise UpstreamError(reason(error, service)) from error


def _error_code(response: Any) -> str:
    try:
        return str(((response.json() or {}).get("error") or {}).get("code") or "")
    except ValueError:
        return ""
