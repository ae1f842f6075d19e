"""Bolt's lazy listeners, run as tasks this app keeps, so shutdown can wait for them and cancel the rest.

A listener registered with `lazy=[...]` acks in its ack function and does its slow work in the lazy ones;
Bolt starts those through the app's `lazy_listener_runner`. Bolt's own async runner
(`AsyncioLazyListenerRunner`) calls `asyncio.ensure_future` and keeps no handle: nothing can wait for the
work at shutdown or cancel it, the event loop holds the task only weakly (it may be collected mid-flight),
and a failure is only logged by Bolt as "Failed to run an internal function". This runner keeps each
task until it ends, hands a failure to the app's error handler like any listener's, and `close` gives
work in flight a bounded time to finish before cancelling it.

It serves HTTP and Socket Mode alike: both adapters dispatch through the same `AsyncApp`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.kwargs_injection.async_utils import build_async_required_kwargs
from slack_bolt.lazy_listener.async_runner import AsyncLazyListenerRunner
from slack_bolt.util.utils import get_arg_names_of_callable, get_name_for_callable

log = logging.getLogger(__name__)


class LazyWork(AsyncLazyListenerRunner):
    def __init__(self, app: AsyncApp) -> None:
        self.logger = app.logger
        self._listeners = app.listener_runner  # its error handler is the one `app.error` set
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def install(cls, app: AsyncApp) -> LazyWork:
        """Make this the runner of `app`'s lazy listeners (Bolt's public `listener_runner` attribute)."""
        runner = cls(app)
        app.listener_runner.lazy_listener_runner = runner
        return runner

    @staticmethod
    def of(app: AsyncApp) -> LazyWork:
        """The runner `install` put on `app`."""
        runner = app.listener_runner.lazy_listener_runner
        assert isinstance(runner, LazyWork), "build the app with LazyWork.install"
        return runner

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def start(self, function: Callable[..., Awaitable[None]], request: AsyncBoltRequest) -> None:
        task = asyncio.create_task(self.run(function, request), name=f"lazy:{get_name_for_callable(function)}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self, function: Callable[..., Awaitable[None]], request: AsyncBoltRequest) -> None:
        kwargs = build_async_required_kwargs(logger=self.logger, required_arg_names=get_arg_names_of_callable(function),
                                             request=request, response=None, this_func=function)
        try:
            await function(**kwargs)
        except Exception as error:
            try:
                await self._listeners.listener_error_handler.handle(error=error, request=request, response=None)
            except Exception:
                log.exception("the error handler failed on a lazy listener's error")

    async def close(self, grace_s: float) -> None:
        """Let work in flight finish for up to `grace_s`, then cancel what is left and wait for it to end."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace_s)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("cancelled %d Slack command(s) still running at shutdown", len(pending))
            await asyncio.gather(*pending, return_exceptions=True)
