"""`jobbot serve`: the Slack app and the HTTP routes, wired from settings (the composition root).

    POST /slack/events            slash commands and interactivity (signed requests only; absent in
                                  Socket Mode, where Slack's traffic arrives over the websocket)
    GET  /healthz                 process is up
    GET  /readyz                  config loaded, store reachable
    GET  /metrics                 the bot's own metrics, Prometheus text format
    POST /alerts/azure-monitor    Azure Monitor action-group webhook (the alerts feature)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket as socket_module
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.access import AccessPolicy
from bot.azure.endpoints import Endpoints
from bot.azure.wiring import azure_readers
from bot.boundary import install_log_redaction
from bot.clock import Clock, SystemClock
from bot.config import Config, load_config
from bot.doctor.slack_verb import doctor_verb
from bot.errors import ConfigError, InvalidRequest
from bot.features import ROUTES, Endpoint, Services, feature_factories
from bot.serve_info import slack_is_on
from bot.settings import Settings
from bot.slack.app import bolt_request, build_bolt_app
from bot.slack.client import web_client
from bot.slack.commands import Verb
from bot.slack.handlers import CommandService
from bot.slack.lazy import LazyWork
from bot.store import Store
from bot.store.audit import AuditEntry
from bot.telemetry.logs import RequestIdMiddleware
from bot.telemetry.metrics import exposition
from bot.telemetry.tracing import configure_tracing

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
    readiness: list[Callable[[], dict[str, Any]]]


def create_app(settings: Settings, config: Config | None = None) -> Starlette:
    """The ASGI app. Raises ConfigError when Slack would be served over HTTP without a signing secret."""
    socket_mode = bool(settings.slack_app_token)
    # Slack off (scenario mode without a bot token) serves no Slack at all: the route says so with a 503.
    if settings.slack_bot_token and not socket_mode and not settings.slack_signing_secret:
        raise ConfigError(["SLACK_SIGNING_SECRET: required to serve Slack over HTTP "
                           "(or set SLACK_APP_TOKEN for Socket Mode)"])
    state: dict[str, Runtime] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            # Logs are a boundary too: every handler redacts from start-up on (bot/boundary.py).
            stack.callback(install_log_redaction(settings.secrets))
            flush_traces = configure_tracing()
            if flush_traces is not None:
                stack.callback(flush_traces)
            state["runtime"] = await _start(settings, config, stack)
            yield
        state.clear()

    async def slack_events(request: Request) -> Response:
        runtime = state["runtime"]
        if not slack_is_on(runtime.settings):  # scenario mode without Slack: nothing to verify requests with
            return JSONResponse({"error": "Slack is off: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set"},
                                status_code=503)
        body = await request.body()
        try:
            parsed = bolt_request(body, dict(request.query_params), dict(request.headers))
        except InvalidRequest as error:  # refused before the signature is even looked at: nothing runs
            return JSONResponse({"error": str(error)}, status_code=400)
        try:
            bolt_response = await runtime.bolt.async_dispatch(parsed)
        except Exception:  # a signed payload of a shape Bolt cannot route: the sender's fault, not ours
            log.exception("Slack request could not be dispatched")
            return JSONResponse({"error": "malformed Slack request"}, status_code=400)
        if bolt_response.status >= 500:  # Bolt's error handler: a listener failed before its ack (logged)
            return JSONResponse({"error": "request could not be handled"}, status_code=400)
        return Response(status_code=bolt_response.status, content=bolt_response.body,
                        headers=bolt_response.first_headers_without_set_cookie())

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def metrics(_: Request) -> Response:
        # Labels carry no job, user or channel (bot/telemetry/metrics.py): safe beside the health routes.
        body, content_type = exposition()
        return Response(body, media_type=content_type)

    async def readyz(_: Request) -> Response:
        runtime = state.get("runtime")
        if runtime is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            await runtime.store.ping()
        except Exception as error:
            log.warning("store not reachable: %s", type(error).__name__)
            return JSONResponse({"status": "store unreachable"}, status_code=503)
        detail: dict[str, Any] = {"status": "ready", "jobs_in_catalog": len(runtime.config.jobs)}
        for readiness in runtime.readiness:
            detail.update(readiness())
        return JSONResponse(detail)

    def feature_route(name: str) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            runtime = state.get("runtime")
            handler = runtime.endpoints.get(name) if runtime else None
            if handler is None:
                return JSONResponse({"error": "not available"}, status_code=503)
            return await handler(request)

        return endpoint

    # In Socket Mode the HTTP Slack route does not exist: nothing reachable on the port runs commands.
    slack_routes = [] if socket_mode else [Route("/slack/events", slack_events, methods=["POST"])]
    return Starlette(
        middleware=[Middleware(RequestIdMiddleware)],
        routes=[
            *slack_routes,
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            *(Route(r.path, feature_route(r.name), methods=list(r.methods)) for r in ROUTES),
        ],
        lifespan=lifespan,
    )


AUDIT_PRUNE_EVERY_S = 3600.0
COMMANDS_GRACE_S = 0.5  # after uvicorn's own grace for requests; the rest of 5 s is Socket Mode's close


async def _prune_audit(store: Store, clock: Clock, retention_days: int) -> None:
    """Keep the audit trail to its retention (`audit.retention_days`): at start, then every hour."""
    while True:
        try:
            pruned = await store.audit.prune(clock.now() - timedelta(days=retention_days))
            if pruned:
                log.info("pruned %d audit entries older than %d days", pruned, retention_days)
        except Exception:
            log.warning("could not prune the audit trail", exc_info=True)
        await asyncio.sleep(AUDIT_PRUNE_EVERY_S)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


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
    store = await asyncio.to_thread(Store.open, settings.database_url, secrets=settings.secrets, clock=clock,
                                    migrate=settings.migrate)
    stack.callback(store.close)
    pruning = asyncio.create_task(_prune_audit(store, clock, config.audit_retention_days), name="audit-prune")
    stack.push_async_callback(_cancel, pruning)
    client = web_client(settings.slack_bot_token, settings.slack_api_url, secrets=settings.secrets)

    async def members(group: str) -> list[str]:
        response = await client.usergroups_users_list(usergroup=group)
        return list(response.get("users") or [])

    async def audit(**fields: Any) -> None:
        try:
            await store.audit.record(AuditEntry(at=clock.now(), **fields))
        except Exception:  # the audit trail must not cost the user their answer
            log.exception("audit write failed")

    service = CommandService(readers=readers, clock=clock, config=config, client=client)
    service.handle(Verb.DOCTOR, doctor_verb(settings, config, readers, clock))
    access = AccessPolicy(config.access, members)
    bolt = build_bolt_app(client=client, signing_secret=settings.slack_signing_secret, service=service,
                          access=access, audit=audit, secrets=settings.secrets)
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
        from bot.slack import socket_mode

        await socket_mode.connect(bolt, settings.slack_app_token, stack)
    # Closed first on the way out: commands in flight get a moment, then are cancelled before the store,
    # the readers and the features they use close (SIGTERM must end the process within 5 s).
    stack.push_async_callback(LazyWork.of(bolt).close, COMMANDS_GRACE_S)
    readiness = [f.readiness for f in features if callable(getattr(f, "readiness", None))]  # type: ignore[attr-defined]
    return Runtime(settings, config, store, clock, bolt, feature_endpoints, readiness)
