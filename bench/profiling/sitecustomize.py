"""Where a `jobbot serve` process spends its time, for `bench/alerts_bench.py --profile DIR` (never imported
by jobbot itself: the bench puts this folder on the replicas' PYTHONPATH, and it does nothing unless
ALERTS_BENCH_PROFILE names a folder).

Three views, written to DIR/<pid>.json when the process exits:

    spans    the webhook's steps, timed around the functions it calls (read the body, parse and check the
             JSON, parse the alert, store the delivery), and every store transaction split into the wait
             for a store thread and the transaction itself, labelled by who asked (the webhook or the rest)
    lag      how late the event loop wakes a 10 ms sleep: the time a request waits while something else
             holds the loop
    samples  while deliveries come in: a stack sample of every thread every 5 ms (pyinstrument-style),
             counted by thread and by the innermost jobbot function <- the innermost function; and the
             process's CPU time against the wall time of that window
"""

from __future__ import annotations

import atexit
import collections
import contextvars
import json
import os
import sys
import threading
import time
from pathlib import Path

OUT = os.environ.get("ALERTS_BENCH_PROFILE")



def _install() -> None:
    spans: dict[str, list[float]] = collections.defaultdict(list)
    samples: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    lag: list[float] = []
    caller: contextvars.ContextVar[str] = contextvars.ContextVar("bench_caller", default="worker")

    def timed(owner: object, name: str, label: str, *, mark: str | None = None, is_async: bool = True) -> None:
        original = getattr(owner, name)
        if is_async:
            async def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
                token = caller.set(mark) if mark else None
                started = time.perf_counter()
                try:
                    return await original(*args, **kwargs)
                finally:
                    spans[label].append(time.perf_counter() - started)
                    if token is not None:
                        caller.reset(token)
        else:
            def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
                started = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    spans[label].append(time.perf_counter() - started)
        setattr(owner, name, wrapper)

    import bot.alerts.intake as intake
    import bot.store.engine as engine

    timed(intake.Webhook, "__call__", "webhook: whole answer", mark="webhook")
    timed(intake, "_read", "webhook: read body")
    timed(intake, "parse_alert", "webhook: parse alert (pydantic)", is_async=False)
    timed(intake, "_depth_over", "webhook: depth check", is_async=False)
    timed(intake, "_encodable", "webhook: unicode check", is_async=False)
    timed(intake, "_without_nul", "webhook: strip NUL", is_async=False)
    for name in ("accept", "_accept_one"):
        for module in ("bot.alerts.feature", "bot.alerts.deliveries"):
            try:
                owner = __import__(module, fromlist=["x"])
            except ImportError:
                continue
            for attr in vars(owner).values():
                if isinstance(attr, type) and name in vars(attr) and attr.__module__ == module:
                    timed(attr, name, f"webhook: store the delivery ({attr.__name__}.{name})")

    original_transaction = engine.Database.transaction
    original_sync = engine.Database._transaction

    async def transaction(self, work, *args, **kwargs):  # type: ignore[no-untyped-def]
        asked = time.perf_counter()
        who = caller.get()

        def run(conn):  # type: ignore[no-untyped-def]
            spans[f"store ({who}): wait for a store thread"].append(time.perf_counter() - asked)
            return work(conn)

        started = time.perf_counter()
        try:
            return await original_transaction(self, run, *args, **kwargs)
        finally:
            spans[f"store ({who}): whole call"].append(time.perf_counter() - started)

    def sync(self, work, *args):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return original_sync(self, work, *args)
        finally:
            spans["store: transaction in its thread (begin..commit)"].append(time.perf_counter() - started)

    engine.Database.transaction = transaction  # type: ignore[method-assign]
    engine.Database._transaction = sync  # type: ignore[method-assign]

    import asyncio

    probing: list[asyncio.Task[None]] = []

    async def probe() -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            lag.append(time.perf_counter() - started - 0.01)

    answer = intake.Webhook.__call__

    window = {"first": 0.0, "last": 0.0, "cpu_first": 0.0, "cpu_last": 0.0}

    async def answer_and_probe(self, request):  # type: ignore[no-untyped-def]
        if not probing:  # the first delivery starts the probe on the serving loop
            probing.append(asyncio.get_running_loop().create_task(probe()))
            window["first"], window["cpu_first"] = time.monotonic(), time.process_time()
        try:
            return await answer(self, request)
        finally:
            window["last"], window["cpu_last"] = time.monotonic(), time.process_time()

    intake.Webhook.__call__ = answer_and_probe  # type: ignore[method-assign]

    here = Path(__file__).resolve().parents[2]
    ours_prefix = str(here / "bot")

    def sampler() -> None:
        me = threading.get_ident()
        dumped = time.monotonic()
        while True:
            time.sleep(0.005)
            if time.monotonic() - dumped > 2:  # the process may be killed rather than exit: dump as it goes
                dump()
                dumped = time.monotonic()
            if not window["first"] or time.monotonic() - window["last"] > 0.2:
                continue  # only while the webhook is taking deliveries
            names = {t.ident: t.name for t in threading.enumerate()}
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                leaf = f"{frame.f_code.co_name} ({Path(frame.f_code.co_filename).name})"
                ours = None
                walk = frame
                while walk is not None:
                    if walk.f_code.co_filename.startswith(ours_prefix):
                        ours = f"{walk.f_code.co_name} ({Path(walk.f_code.co_filename).relative_to(here)})"
                        break
                    walk = walk.f_back
                name = names.get(ident, "?").rstrip("0123456789_")
                idle = frame.f_code.co_name in ("select", "wait", "_worker", "poll", "sleep", "get", "acquire")
                threads[f"{name}{' (idle)' if idle else ''}"] += 1
                if not idle:
                    samples[f"[{name}] {ours or '-'} <- {leaf}"] += 1

    def dump() -> None:
        folder = Path(OUT or ".")
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f"{os.getpid()}.json.tmp"
        partial.write_text(json.dumps({"spans": {k: list(v) for k, v in list(spans.items())}, "lag": list(lag),
                                       "samples": dict(samples.most_common(60)), "threads": dict(threads),
                                       "window": window}))
        partial.replace(folder / f"{os.getpid()}.json")

    threading.Thread(target=sampler, name="bench-sampler", daemon=True).start()
    atexit.register(dump)


if OUT:
    _install()
