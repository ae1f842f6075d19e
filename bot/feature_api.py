"""What a feature of `jobbot serve` is and what it may use: the contract between the server and its features.

Features (alerts, rollback checklists) import this module; the server imports `bot.features`, which lists
them. Neither imports the other's internals, so there is no circle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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
