"""Service Bus management reads of one scenario: namespaces, queues, topics and topic subscriptions.

Each `azure-servicebus` queue spec of the scenario is an entity of a namespace; these functions
build the bodies the Service Bus SDK deserializes. `ArmWorld` matches the routes and answers the
404s for names the scenario does not have.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.emulator.scenario import QueueSpec, format_time


@dataclass(frozen=True, slots=True)
class Namespace:
    id: str
    name: str
    key: tuple[str, ...]  # (subscription, resource group, name), lower-cased
    location: str
    entities: dict[str, QueueSpec]  # "queue" or "topic/subscription", lower-cased


def namespaces(
    queues: Iterable[QueueSpec], subscription: str, *, resource_group: str, location: str
) -> dict[tuple[str, ...], Namespace]:
    """The namespaces the `azure-servicebus` specs among `queues` name, by key, each with its entities.

    A spec that names no resource group is in `resource_group`; every namespace is in `location`.
    """
    found: dict[tuple[str, ...], Namespace] = {}
    for queue in queues:
        if queue.type == "azure-servicebus":
            ns = _new_namespace(subscription, queue.resource_group or resource_group, queue.account, location)
            found.setdefault(ns.key, ns).entities[queue.name.lower()] = queue
    return found


def _new_namespace(subscription: str, resource_group: str, name: str, location: str) -> Namespace:
    return Namespace(
        id=f"/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.ServiceBus/namespaces/"
        f"{name}",
        name=name,
        key=(subscription.lower(), resource_group.lower(), name.lower()),
        location=location,
        entities={},
    )


def namespace_body(ns: Namespace, subscription: str) -> dict[str, Any]:
    return {
        "id": ns.id,
        "name": ns.name,
        "type": "Microsoft.ServiceBus/Namespaces",
        "location": ns.location,
        "sku": {"name": "Standard", "tier": "Standard"},
        "properties": {
            "provisioningState": "Succeeded",
            "status": "Active",
            "serviceBusEndpoint": f"https://{ns.name}.servicebus.windows.net:443/",
            "metricId": f"{subscription}:{ns.name}",
        },
    }


def entity_body(ns: Namespace, spec: QueueSpec, kind: str, path: str, now: datetime) -> dict[str, Any]:
    """A queue or topic subscription (`kind` "Queues" or "Topics/Subscriptions") at `path` under `ns`.

    Its counts are the spec's depth and dead letters; every timestamp is the scenario's now.
    """
    stamp = format_time(now)
    return {
        "id": f"{ns.id}/{path}",
        "name": path.rsplit("/", 1)[-1],
        "type": f"Microsoft.ServiceBus/Namespaces/{kind}",
        "location": ns.location,
        "properties": {
            "messageCount": spec.depth + spec.dead_letter,
            "sizeInBytes": 0,
            "status": "Active",
            "maxDeliveryCount": spec.max_delivery_count or 10,
            "lockDuration": spec.lock_duration or "PT1M",
            "createdAt": stamp,
            "updatedAt": stamp,
            "accessedAt": stamp,
            "countDetails": {
                "activeMessageCount": spec.depth,
                "deadLetterMessageCount": spec.dead_letter,
                "scheduledMessageCount": 0,
                "transferMessageCount": 0,
                "transferDeadLetterMessageCount": 0,
            },
        },
    }


def has_topic(ns: Namespace, topic: str) -> bool:
    """A topic exists when the scenario names one of its subscriptions."""
    return any(e.startswith(f"{topic.lower()}/") for e in ns.entities)


def topic_body(ns: Namespace, topic: str) -> dict[str, Any]:
    return {
        "id": f"{ns.id}/topics/{topic}",
        "name": topic,
        "type": "Microsoft.ServiceBus/Namespaces/Topics",
        "location": ns.location,
        "properties": {"status": "Active", "subscriptionCount": 1},
    }
