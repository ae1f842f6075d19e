"""Serve an ASGI app (jobbot's own) over real HTTP on 127.0.0.1 from a background thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


@contextmanager
def served(app: Any, *, timeout_s: float = 30) -> Iterator[str]:
    """Yield the base URL ("http://127.0.0.1:PORT") while `app` runs with its lifespan in its own loop."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_level="warning")
    server = uvicorn.Server(config)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=lambda: loop.run_until_complete(server.serve()), name="jobbot-serve",
                              daemon=True)
    thread.start()
    deadline = loop.time() + timeout_s
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the app failed to start")
        if loop.time() > deadline:
            raise RuntimeError("the app did not start in time")
        threading.Event().wait(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout_s)
