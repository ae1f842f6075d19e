"""`jobbot serve`: the Slack app and the HTTP routes, wired from settings (the composition root).

    POST /slack/events            slash commands and interactivity (signed requests only)
    GET  /healthz                 process is up
    GET  /readyz                  config loaded, store reachable
    POST /alerts/azure-monitor    Azure Monitor action-group webhook (the alerts feature)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket as socket_module
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.access import AccessPolicy
from bot.azure.endpoints import Endpoints
from bot.azure.wiring import azure_readers
from bot.clock import Clock, SystemClock
from bot.config import Config, load_config
from bot.features import ROUTES, Endpoint, Services, feature_factories
from bot.serve_info import slack_is_on
from bot.settings import Settings
from bot.slack.app import bolt_request, build_bolt_app
from bot.slack.client import web_client
from bot.slack.handlers import CommandService
from bot.store import Store
from bot.store.audit import AuditEntry

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What the routes need, built once at start-up."""

    settings: Settings
    config: Config
    store: Store
    clock: Clock
    bolt: Any
    endpoints: dict[str, Endpoint]


def create_app(settings: Settings, config: Config | None = None) -> Starlette:
    state: dict[str, Runtime] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            state["runtime"] = await _start(settings, config, stack)
            yield
        state.clear()

    async def slack_events(request: Request) -> Response:
        runtime = state["runtime"]
        if not slack_is_on(runtime.settings):  # scenario mode without Slack: nothing to verify requests with
            return JSONResponse({"error": "Slack is off: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set"},
                                status_code=503)
        body = await request.body()
        bolt_response = await runtime.bolt.async_dispatch(
            bolt_request(body, dict(request.query_params), dict(request.headers)))
        return Response(status_code=bolt_response.status, content=bolt_response.body,
                        headers=bolt_response.first_headers_without_set_cookie())

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        runtime = state.get("runtime")
        if runtime is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            await runtime.store.ping()
        except Exception as error:
            log.warning("store not reachable: %s", type(error).__name__)
            return JSONResponse({"status": "store unreachable"}, status_code=503)
        return JSONResponse({"status": "ready", "jobs_in_catalog": len(runtime.config.jobs)})

    def feature_route(name: str) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            runtime = state.get("runtime")
            handler = runtime.endpoints.get(name) if runtime else None
            if handler is None:
                return JSONResponse({"error": "not available"}, status_code=503)
            return await handler(request)

        return endpoint

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            *(Route(r.path, feature_route(r.name), methods=list(r.methods)) for r in ROUTES),
        ],
        lifespan=lifespan,
    )


async def _start(settings: Settings, config: Config | None, stack: contextlib.AsyncExitStack) -> Runtime:
    config = config or load_config(settings.config_path)
    if settings.scenario:
        from bot.scenario_mode import scenario_world

        world = stack.enter_context(scenario_world(settings.scenario, config))
        endpoints, credential, config = world.endpoints, world.credential, world.config
        clock: Clock = world.clock
    else:
        from bot.azure.credentials import production_credential

        endpoints, clock = Endpoints(), SystemClock()
        credential = await stack.enter_async_context(production_credential())
    readers = await stack.enter_async_context(azure_readers(credential, endpoints, config))
    store = await asyncio.to_thread(Store.open, settings.database_url, secrets=settings.secrets, clock=clock)
    stack.callback(store.close)
    client = web_client(settings.slack_bot_token, settings.slack_api_url)

    async def members(group: str) -> list[str]:
        response = await client.usergroups_users_list(usergroup=group)
        return list(response.get("users") or [])

    async def audit(**fields: Any) -> None:
        try:
            await store.audit.record(AuditEntry(at=clock.now(), **fields))
        except Exception:  # the audit trail must not cost the user their answer
            log.exception("audit write failed")

    service = CommandService(readers=readers, clock=clock, config=config, client=client)
    access = AccessPolicy(config.raw.get("access"), members)
    bolt = build_bolt_app(client=client, signing_secret=settings.slack_signing_secret, service=service,
                          access=access, audit=audit)
    services = Services(settings=settings, config=config, store=store, clock=clock, readers=readers,
                        client=client, commands=service, access=access, audit=audit,
                        replica_id=f"{socket_module.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    features = [factory(services) for factory in feature_factories()]
    feature_endpoints: dict[str, Endpoint] = {}
    for feature in features:
        feature.register(bolt)
        feature_endpoints.update(feature.endpoints())
        await feature.start()
        stack.push_async_callback(feature.stop)
    if settings.slack_app_token:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        socket_mode = AsyncSocketModeHandler(bolt, settings.slack_app_token)
        await socket_mode.connect_async()  # type: ignore[no-untyped-call]
        stack.push_async_callback(socket_mode.close_async)
    return Runtime(settings, config, store, clock, bolt, feature_endpoints)
