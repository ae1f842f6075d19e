"""The local Azure emulator: one HTTPS server on 127.0.0.1 serving a scenario to the real SDK clients.

    Emulator(scenario).start()          its own event loop in a daemon thread; returns when listening
      url        https://127.0.0.1:PORT  ARM base URL and Log Analytics endpoint
      ca_file    the throwaway CA (PEM), for connection_verify=
      queue_account_url(account)        https://127.0.0.1:PORT/<account>  (Storage, path-style)
      requests   every request, with its target and whether it was allowed
      load(s)    swap the world (also POST /_emulator/scenario)

Read-only by construction: GET everywhere, POST only on the Log Analytics query route, the Resource
Graph query route (`POST /providers/Microsoft.ResourceGraph/resources`, a read) and the control route;
every other method, and POSTs such as `listSecrets`, `start`, `stop`, `suspend`, `resume`, are
answered 405 and recorded with `allowed=False`. Azure routes require a bearer token (401 otherwise)
and ARM routes an `api-version` query parameter (400 otherwise). Faults of the scenario apply after
those checks.
"""

from __future__ import annotations

import asyncio
import re
import socket
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from aiohttp import web

from bot.emulator.arm import ArmWorld, arm_error
from bot.emulator.dataplane import QueueStore, storage_error
from bot.emulator.faults import ConnectionDropped, ErrorShape, FaultPlan, apply_fault
from bot.emulator.graph import ROUTE as GRAPH_QUERY
from bot.emulator.graph import ResourceGraph
from bot.emulator.logs import LogStore, logs_error
from bot.emulator.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from bot.emulator.shuffle import Shuffle
from bot.emulator.tls import generate_tls, server_context

Target = Literal["arm", "logs", "queue", "control"]

HOST = "127.0.0.1"
_LOGS_QUERY = re.compile(r"^/v1/workspaces/(?P<workspace>[^/]+)/query$", re.IGNORECASE)
_CONTROL_SCENARIO = "/_emulator/scenario"
_CONTROL_REQUESTS = "/_emulator/requests"


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the emulator saw it. `status` 0 means the connection was dropped on purpose."""

    method: str
    path: str
    query: dict[str, str]
    target: Target
    status: int
    allowed: bool
    arrived_s: float = 0.0  # since the emulator started: when the request came, and when it was answered
    answered_s: float = 0.0


class _World:
    """Everything served for one loaded scenario."""

    def __init__(self, scenario: Scenario, workdir: Path, shuffle: Shuffle | None = None) -> None:
        self.scenario = scenario
        self.arm = ArmWorld(scenario, shuffle=shuffle)
        self.queues = QueueStore(scenario)
        self.faults = FaultPlan(scenario.faults)
        # last: they hold files to release on failure above
        self.logs = LogStore(scenario, workdir, shuffle=shuffle)
        try:
            self.graph = ResourceGraph(scenario, workdir)
        except BaseException:
            self.logs.close()
            raise

    def close(self) -> None:
        self.logs.close()
        self.graph.close()


class Emulator:
    """`shuffle=SEED` serves stored rows, query results and ARM lists in a seeded order (Azure promises
    none), so a test can prove that nothing shown or decided depends on arrival order."""

    def __init__(self, scenario: Scenario, *, port: int = 0, shuffle: int | None = None) -> None:
        self._scenario = scenario
        self._port = port
        self._shuffle = Shuffle(shuffle) if shuffle is not None else None
        self._requests: list[RecordedRequest] = []
        self._started = time.monotonic()
        self._world: _World | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._bound_port = 0
        self._ca_file: Path | None = None

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Build the world, bind 127.0.0.1 and serve HTTPS from a daemon thread; return when listening."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        self._tmp = tempfile.TemporaryDirectory(prefix="jobbot-emulator-")
        workdir = Path(self._tmp.name)
        try:
            material = generate_tls(HOST)
            self._ca_file = workdir / "ca.pem"
            self._ca_file.write_bytes(material.ca_pem)
            context = server_context(material, workdir)
            self._world = _World(self._scenario, workdir, self._shuffle)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((HOST, self._port))
        except BaseException:
            self._cleanup()
            raise
        self._bound_port = sock.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._serve, args=(sock, context, ready, failure), name="jobbot-emulator", daemon=True
        )
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            self._cleanup()
            raise failure[0]

    def _serve(self, sock: socket.socket, context: Any, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        try:
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.SockSite(runner, sock, ssl_context=context).start())
        except BaseException as exc:  # reported to start()
            failure.append(exc)
            sock.close()
            loop.close()
            ready.set()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def stop(self) -> None:
        """Stop serving and delete the CA file and the DuckDB files. Safe to call twice."""
        if self._thread is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._thread = None
        self._loop = None
        self._cleanup()

    def _cleanup(self) -> None:
        if self._world is not None:
            self._world.close()
            self._world = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- what clients need ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """https://127.0.0.1:PORT — the ARM base URL and the Log Analytics endpoint."""
        if not self._bound_port or self._thread is None:
            raise RuntimeError("the emulator is not running: call start() first")
        return f"https://{HOST}:{self._bound_port}"

    @property
    def ca_file(self) -> str:
        """Path of the CA certificate (PEM) to trust: `connection_verify=emulator.ca_file`."""
        if self._ca_file is None or self._thread is None:
            raise RuntimeError("the emulator is not running: call start() first")
        return str(self._ca_file)

    def queue_account_url(self, account: str) -> str:
        """The Storage account URL for `QueueClient(account_url=...)`, path-style like Azurite."""
        return f"{self.url}/{account}"

    @property
    def shuffle_seed(self) -> int | None:
        """The seed rows and lists are shuffled with, or None when they are served as stored."""
        return self._shuffle.seed if self._shuffle else None

    @property
    def scenario(self) -> Scenario:
        return self._scenario

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the request record, oldest first (in the order answers were finished)."""
        return list(self._requests)

    def clear_requests(self) -> None:
        self._requests.clear()

    def load(self, scenario: Scenario) -> None:
        """Swap the world: later requests see `scenario` (fault counters start afresh)."""
        if self._tmp is None:
            self._scenario = scenario
            return
        self._swap(_World(scenario, Path(self._tmp.name), self._shuffle))

    def _swap(self, world: _World) -> None:
        old, self._world = self._world, world
        self._scenario = world.scenario
        if old is not None:
            old.close()  # deferred by the store until its running queries end

    # --- requests -------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        world = self._world
        assert world is not None
        arrived = time.monotonic() - self._started
        path = _normalise(request.path)
        target, shape = _classify(path, request, world)
        status = 0
        try:
            response = await self._answer(request, path, world, target, shape)
            status = response.status
            return response
        except ConnectionDropped:
            return web.Response(status=500)  # never reaches the client: the connection is closed
        finally:
            self._requests.append(
                RecordedRequest(
                    method=request.method,
                    path=request.path,
                    query=dict(request.query),
                    target=target,
                    status=status,
                    allowed=status != 405,
                    arrived_s=round(arrived, 4),
                    answered_s=round(time.monotonic() - self._started, 4),
                )
            )

    async def _answer(
        self, request: web.Request, path: str, world: _World, target: Target, shape: ErrorShape | None
    ) -> web.Response:
        if shape is None:
            return await self._control(request, path)
        logs_query = _LOGS_QUERY.match(path) if shape == "logs" else None
        graph_query = shape == "arm" and GRAPH_QUERY.match(path) is not None
        if request.method != "GET" and not (request.method == "POST" and (logs_query or graph_query)):
            return _refuse(request, shape)
        if graph_query and request.method != "POST":
            return _refuse(request, shape)
        if not request.headers.get("Authorization", "").lower().startswith("bearer "):
            return _unauthorized(shape)
        if shape == "arm" and "api-version" not in request.query:
            return arm_error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        fault = world.faults.take(target, path)
        if fault is not None and fault.latency_ms and not fault.status and not fault.drop:
            # A slow service spends its latency computing the answer: overlap the two, so the emulator's own
            # CPU time does not add to the latency a benchmark injected.
            answer = asyncio.ensure_future(self._respond(request, path, world, shape, logs_query, fault.partial))
            await asyncio.sleep(fault.latency_ms / 1000)
            return await answer
        partial = False
        if fault is not None:
            early = await apply_fault(fault, request, shape)
            if early is not None:
                return early
            partial = fault.partial
        return await self._respond(request, path, world, shape, logs_query, partial)

    async def _respond(
        self, request: web.Request, path: str, world: _World, shape: ErrorShape, logs_query: re.Match[str] | None,
        partial: bool,
    ) -> web.Response:
        if shape == "logs":
            if logs_query is None:
                return logs_error(404, "PathNotFoundError", f"The requested path does not exist: {path}")
            return await world.logs.handle(request, logs_query["workspace"], partial=partial)
        if shape == "storage":
            return world.queues.handle(request, path)
        if GRAPH_QUERY.match(path):
            return await world.graph.handle(request)
        return world.arm.handle(request, path)

    async def _control(self, request: web.Request, path: str) -> web.Response:
        lowered = path.lower()
        if lowered == _CONTROL_SCENARIO and request.method == "POST":
            try:
                body = await request.json()
                world = await asyncio.to_thread(self._world_from, body)
            except ScenarioError as exc:
                return web.json_response({"error": {"code": "ScenarioError", "message": str(exc)}}, status=400)
            except ValueError as exc:
                return web.json_response({"error": {"code": "BadRequest", "message": str(exc)}}, status=400)
            self._swap(world)
            return web.json_response({"loaded": world.scenario.name})
        if lowered == _CONTROL_SCENARIO and request.method == "GET":
            scenario = self._scenario
            return web.json_response({"name": scenario.name, "path": str(scenario.path or "")})
        if lowered == _CONTROL_REQUESTS and request.method == "GET":
            return web.json_response({"requests": [asdict(r) for r in self._requests]})
        if request.method != "GET":
            return web.json_response({"error": {"code": "MethodNotAllowed", "message": path}}, status=405)
        return web.json_response({"error": {"code": "NotFound", "message": path}}, status=404)

    def _world_from(self, body: Any) -> _World:
        assert self._tmp is not None
        if isinstance(body, dict) and set(body) == {"path"}:
            scenario = load_scenario(str(body["path"]))
        else:
            scenario = parse_scenario(body, source="POST /_emulator/scenario")
        return _World(scenario, Path(self._tmp.name), self._shuffle)


def serve_forever(path: str | Path, port: int = 0, shuffle: int | None = None) -> None:
    """Serve the scenario at `path` until Ctrl-C, printing the URLs clients need."""
    emulator = Emulator(load_scenario(path), port=port, shuffle=shuffle)
    with emulator:
        print(f"jobbot emulator: scenario {emulator.scenario.name!r} on {emulator.url}")
        if shuffle is not None:
            print(f"  shuffling rows and lists with seed {shuffle}  (--shuffle {shuffle} replays this order)")
        print(f"  ARM base URL            {emulator.url}")
        print(f"  Log Analytics endpoint  {emulator.url}  (workspace {emulator.scenario.workspace_id})")
        print(f"  Storage account URL     {emulator.url}/<account>")
        print(f"  CA file                 {emulator.ca_file}  (connection_verify=)")
        print(f"  control                 POST {emulator.url}{_CONTROL_SCENARIO}, GET {_CONTROL_REQUESTS}")
        print("Ctrl-C to stop.", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("\njobbot emulator: stopped.")


# --- helpers ------------------------------------------------------------------------------------------


def _normalise(path: str) -> str:
    path = re.sub(r"/{2,}", "/", path)
    return path.rstrip("/") or "/"


def _classify(path: str, request: web.Request, world: _World) -> tuple[Target, ErrorShape | None]:
    """Which upstream a request is for (the fault target) and the shape its errors take."""
    lowered = path.lower()
    if lowered == "/_emulator" or lowered.startswith("/_emulator/"):
        return "control", None
    if lowered.startswith("/v1/"):
        return "logs", "logs"
    if lowered.startswith(("/subscriptions/", "/providers/")):
        return ("queue" if "/providers/microsoft.servicebus/" in lowered else "arm"), "arm"
    account = lowered.strip("/").split("/")[0]
    if account in world.queues.accounts or "x-ms-version" in request.headers:
        return "queue", "storage"
    return "arm", "arm"


def _refuse(request: web.Request, shape: ErrorShape) -> web.Response:
    message = (
        f"The jobbot emulator is read-only: {request.method} {request.path} is refused (jobbot may only read Azure)."
    )
    headers = {"Allow": "POST" if GRAPH_QUERY.match(_normalise(request.path)) else "GET"}
    if shape == "logs":
        return logs_error(405, "MethodNotAllowed", message, headers={"Allow": "POST"})
    if shape == "storage":
        return storage_error(405, "UnsupportedHttpVerb", message, headers=headers)
    return arm_error(405, "MethodNotAllowed", message, headers=headers)


def _unauthorized(shape: ErrorShape) -> web.Response:
    message = "Authentication failed. The 'Authorization' header is missing or is not a bearer token."
    if shape == "logs":
        return logs_error(401, "AuthorizationRequiredError", message)
    if shape == "storage":
        return storage_error(401, "NoAuthenticationInformation", message)
    return arm_error(401, "AuthenticationFailed", message)
