"""Serve an ASGI app (jobbot's own) over real HTTP on 127.0.0.1 from a background thread.

    with served(create_app(settings, config)) as url: ...          # the base URL
    with serving(create_app(settings, config)) as app:              # the URL, and a handle on the app
        ...
        app.quiet()   # wait until nothing is in flight: no request, command or feature work running, and
                      # every feature with an idle signal (the alert worker) idle
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn

import bot.server
from bot.feature_api import Feature, FeatureFactory


@dataclass
class Served:
    url: str
    loop: asyncio.AbstractEventLoop
    features: list[Feature] = field(default_factory=list)  # as `jobbot serve` built them, in start order
    _lasting: set[asyncio.Task[Any]] = field(default_factory=set)  # tasks that run as long as the app

    def feature(self, name: str) -> Any:
        return next(f for f in self.features if f.name == name)

    def quiet(self, timeout: float = 30) -> None:
        """Return once the app has nothing in flight (see the module notes); AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            busy = asyncio.run_coroutine_threadsafe(self._busy(), self.loop).result(timeout)
            if not busy:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the app is still busy after {timeout} s: {busy}")
            time.sleep(0.01)

    async def _busy(self) -> list[str]:
        me = asyncio.current_task()
        # A task that only waits to be woken (`asyncio.wait_for(event.wait(), poll)` in a feature's loop
        # wraps the wait in a task of its own, again on every poll) is no work in flight.
        running = [t.get_name() for t in asyncio.all_tasks()
                   if t is not me and t not in self._lasting and not _waiting_to_be_woken(t)]
        waiting = [f.name for f in self.features if getattr(f, "idle", True) is False]
        return running + waiting


@contextmanager
def serving(app: Any, *, timeout_s: float = 30) -> Iterator[Served]:
    """Run `app` with its lifespan in its own loop and thread; yields a handle once it answers."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_level="warning")
    server = uvicorn.Server(config)
    loop = asyncio.new_event_loop()
    features: list[Feature] = []
    thread = threading.Thread(target=lambda: loop.run_until_complete(server.serve()), name="jobbot-serve",
                              daemon=True)
    with _keeping(features):
        thread.start()
        deadline = time.monotonic() + timeout_s
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the app failed to start")
            if time.monotonic() > deadline:
                raise RuntimeError("the app did not start in time")
            time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    handle = Served(f"http://127.0.0.1:{port}", loop, features)
    handle._lasting = asyncio.run_coroutine_threadsafe(_tasks(), loop).result(timeout_s)
    try:
        yield handle
    finally:
        server.should_exit = True
        thread.join(timeout_s)


@contextmanager
def served(app: Any, *, timeout_s: float = 30) -> Iterator[str]:
    """Yield the base URL ("http://127.0.0.1:PORT") while `app` runs with its lifespan in its own loop."""
    with serving(app, timeout_s=timeout_s) as handle:
        yield handle.url


def _waiting_to_be_woken(task: asyncio.Task[Any]) -> bool:
    return getattr(task.get_coro(), "__qualname__", "") == "Event.wait"


async def _tasks() -> set[asyncio.Task[Any]]:
    """The app's tasks once started (the server, its lifespan, the features' loops), this one excepted."""
    me = asyncio.current_task()
    return {t for t in asyncio.all_tasks() if t is not me}


@contextmanager
def _keeping(built: list[Feature]) -> Iterator[None]:
    """While the app starts, keep each feature `jobbot serve` builds."""
    original = bot.server.feature_factories

    def factories() -> Sequence[FeatureFactory]:
        def keep(factory: FeatureFactory) -> FeatureFactory:
            def build(services: Any) -> Feature:
                feature = factory(services)
                built.append(feature)
                return feature

            return build

        return [keep(factory) for factory in original()]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bot.server, "feature_factories", factories)
        yield
