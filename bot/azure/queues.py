"""Read-only queue depth for a job's scale rule: Storage queue data plane or Service Bus via ARM.

Only what the rule's own metadata names is read; a rule that authenticates with a connection-string
secret may name no account at all, and the bot never reads secret values: then the config must say
where the queue is, or the check is skipped with that reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.servicebus.aio import ServiceBusManagementClient
from azure.storage.queue.aio import QueueClient

from bot.azure.endpoints import Endpoints
from bot.azure.faults import upstream
from bot.azure.resources import split_id
from bot.errors import NotApplicable, ResourceNotFound
from bot.model import Job, QueueDepth, ScaleRule


class QueueDepthReader:
    """Implements the QueueReader port."""

    def __init__(
        self,
        credential: Any,
        endpoints: Endpoints,
        *,
        sources: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self._credential = credential
        self._endpoints = endpoints
        self._sources = {k.lower(): v for k, v in (sources or {}).items()}  # per-job override from config
        self._servicebus: dict[str, ServiceBusManagementClient] = {}
        self._namespaces: dict[str, dict[str, str]] = {}  # subscription -> namespace name -> resource group

    async def close(self) -> None:
        for client in self._servicebus.values():
            await client.close()

    async def depth(self, job: Job, rule: ScaleRule) -> QueueDepth:
        metadata = {**rule.metadata, **self._sources.get(job.ref.name.lower(), {})}
        if rule.type == "azure-queue":
            return await self._storage_depth(metadata)
        if rule.type == "azure-servicebus":
            return await self._servicebus_depth(job, metadata)
        raise NotApplicable(f"scale rule type {rule.type or 'unknown'} is not measured yet")

    async def _storage_depth(self, metadata: Mapping[str, str]) -> QueueDepth:
        account, queue = metadata.get("accountName"), metadata.get("queueName")
        if not account or not queue:
            raise NotApplicable("the scale rule names no storage account (it authenticates with a secret); "
                                "set the queue in the config")
        # Storage has its own retry policy (15 s initial backoff by default): keep it inside a check's deadline.
        client = QueueClient(self._endpoints.queue_account_url(account), queue, credential=self._credential,
                             initial_backoff=0.3, increment_base=1, random_jitter_range=0,
                             **self._endpoints.client_kwargs())
        try:
            async with client, upstream("Azure Storage queues"):
                properties = await client.get_queue_properties()
        except ResourceNotFoundError:  # the event source itself is gone: evidence, not a fault
            raise ResourceNotFound(f"storage queue {account}/{queue}") from None
        return QueueDepth("azure-queue", account, queue, int(properties.approximate_message_count or 0))

    async def _servicebus_depth(self, job: Job, metadata: Mapping[str, str]) -> QueueDepth:
        namespace = metadata.get("namespace")
        queue, topic, subscription_name = (metadata.get("queueName"), metadata.get("topicName"),
                                           metadata.get("subscriptionName"))
        if not namespace:
            raise NotApplicable("the scale rule names no Service Bus namespace (it authenticates with a secret or "
                                "identity only); set the namespace in the config")
        subscription = job.ref.subscription
        resource_group = metadata.get("resourceGroup") or await self._namespace_group(subscription, namespace)
        client = self._sb(subscription)
        entity: Any
        async with _missing_as_evidence(f"Service Bus entity {namespace}/{queue or f'{topic}/{subscription_name}'}"), \
                upstream("Azure Service Bus (ARM)"):
            if queue:
                entity = await client.queues.get(resource_group, namespace, queue)
                name = queue
            elif topic and subscription_name:
                entity = await client.subscriptions.get(resource_group, namespace, topic, subscription_name)
                name = f"{topic}/{subscription_name}"
            else:
                raise NotApplicable("the scale rule names neither a queue nor a topic subscription")
        details = entity.count_details
        active = details.active_message_count if details else entity.message_count
        dead = details.dead_letter_message_count if details else None
        lock = getattr(entity, "lock_duration", None)  # a timedelta: the SDK parses the ISO 8601 duration
        deliveries = getattr(entity, "max_delivery_count", None)
        return QueueDepth("azure-servicebus", namespace, name, int(active or 0), None if dead is None else int(dead),
                          lock_duration_s=lock.total_seconds() if lock is not None else None,
                          max_delivery_count=int(deliveries) if deliveries is not None else None)

    def _sb(self, subscription: str) -> ServiceBusManagementClient:
        if subscription not in self._servicebus:
            self._servicebus[subscription] = ServiceBusManagementClient(
                self._credential, subscription, base_url=self._endpoints.arm, **self._endpoints.client_kwargs()
            )
        return self._servicebus[subscription]

    async def _namespace_group(self, subscription: str, namespace: str) -> str:
        # The rule names the namespace, not its resource group: list the subscription's namespaces once.
        if subscription not in self._namespaces:
            async with upstream("Azure Service Bus (ARM)"):
                found: Sequence[Any] = [ns async for ns in self._sb(subscription).namespaces.list()]
            self._namespaces[subscription] = {str(ns.name).lower(): split_id(str(ns.id))[1] for ns in found}
        group = self._namespaces[subscription].get(namespace.lower())
        if group is None:
            raise NotApplicable(f"Service Bus namespace {namespace} is not in subscription {subscription}")
        return group


@asynccontextmanager
async def _missing_as_evidence(what: str) -> AsyncIterator[None]:
    """A 404 for the entity the scale rule names means it does not exist (deleted, renamed): evidence."""
    try:
        yield
    except ResourceNotFoundError:
        raise ResourceNotFound(what) from None
