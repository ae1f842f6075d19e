"""Features plug into `jobbot serve` the same way: HTTP routes, Bolt listeners, background loops.

Built-in features (alerts, rollback checklists) are listed in FEATURES and registered exactly like an
extension would be, so the server's composition root stays small.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import Response

from bot.access import AccessPolicy
from bot.clock import Clock
from bot.config import Config
from bot.evidence.sources import Readers
from bot.settings import Settings
from bot.slack.handlers import CommandService
from bot.store import Store

Audit = Callable[..., Awaitable[None]]
Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Services:
    """Everything a feature may use, built once by the composition root."""

    settings: Settings
    config: Config
    store: Store
    clock: Clock
    readers: Readers
    client: AsyncWebClient
    commands: CommandService
    access: AccessPolicy
    audit: Audit
    replica_id: str  # unique per process: owner of claims and timers


@dataclass(frozen=True)
class HttpRoute:
    path: str
    methods: tuple[str, ...]
    name: str  # the feature's endpoint is looked up by this name once the feature is running


class Feature(Protocol):
    name: str

    def endpoints(self) -> dict[str, Endpoint]:
        """HTTP endpoints by route name (see ROUTES)."""
        ...

    def register(self, bolt: AsyncApp) -> None:
        """Add Bolt listeners (actions, views)."""
        ...

    async def start(self) -> None:
        """Start background work (timers, queues). Called once the server is up."""
        ...

    async def stop(self) -> None: ...


FeatureFactory = Callable[[Services], Feature]

# Routes are fixed when the app is created; the feature behind each is built at start-up.
ROUTES: tuple[HttpRoute, ...] = (
    HttpRoute("/alerts/azure-monitor", ("POST",), "alerts.azure_monitor"),
)


def feature_factories() -> Sequence[FeatureFactory]:
    """The built-in features, in start order. Each line imports one feature package."""
    from bot.alerts.feature import build as alerts  # imported here: it imports this module
    from bot.checklists.feature import build as checklists  # imported here: it imports this module

    factories: list[FeatureFactory] = [checklists]
    factories.append(alerts)
    return factories


