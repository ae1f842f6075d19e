"""What the benches share: a scenario world slowed down, the local Azure emulator in its own process (so
its CPU is not the bot's), its request log, and percentiles.

Imported as `_harness` (each bench puts its own folder on the path), so a bench run with `BENCH_CODE`
pointing at another tree still finds it.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("arm", "logs", "queue")


def latency_faults(latency_ms: int) -> list[dict[str, Any]]:
    """Scenario faults that make every upstream call (ARM, Log Analytics, the queue) `latency_ms` slow."""
    return [{"target": target, "path": "/", "latency_ms": latency_ms} for target in TARGETS]


def written(data: dict[str, Any], prefix: str = "jobbot-bench-") -> Path:
    """`data` (a scenario world) written to a new temporary file."""
    out = Path(tempfile.mkdtemp(prefix=prefix)) / "world.yaml"
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


def slowed_scenario(scenario: Path, latency_ms: int) -> Path:
    """The scenario file with every upstream call `latency_ms` slow, as a new temporary file."""
    return written({**yaml.safe_load(scenario.read_text()), "faults": latency_faults(latency_ms)})


def start_emulator(path: Path, code: Path = ROOT) -> tuple[subprocess.Popen[str], str, str]:
    """`jobbot emulator` serving `path`, run from the tree `code`; (process, base URL, CA file)."""
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "emulator", "--scenario", str(path)],
                               stdout=subprocess.PIPE, text=True, cwd=code,
                               env={**os.environ, "PYTHONPATH": str(code)})
    assert process.stdout is not None
    url = ca = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (url and ca):
        line = process.stdout.readline()
        if match := re.search(r"ARM base URL\s+(\S+)", line):
            url = match.group(1)
        if match := re.search(r"CA file\s+(\S+)", line):
            ca = match.group(1)
    if not (url and ca):
        process.kill()
        raise SystemExit("the emulator did not start")
    return process, url, ca


@contextmanager
def emulator(path: Path, code: Path = ROOT) -> Iterator[tuple[str, str]]:
    """The emulator serving `path` for the block: (base URL, CA file); stopped however the block ends."""
    process, url, ca = start_emulator(path, code)
    try:
        yield url, ca
    finally:
        process.terminate()
        process.wait(timeout=10)


def requests_seen(url: str, ca: str) -> list[dict[str, Any]]:
    """The emulator's request log (method, path, target), without its own control requests."""
    context = ssl.create_default_context(cafile=ca)
    with urllib.request.urlopen(f"{url}/_emulator/requests", context=context, timeout=30) as answer:
        found: list[dict[str, Any]] = json.load(answer)["requests"]
    return [r for r in found if r["target"] != "control"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def round_trips(label: str, times: list[float], latency_ms: int) -> str:
    """One line: the median wall time of `times` (seconds) and what it is in round trips of `latency_ms`."""
    median = statistics.median(times)
    return (f"{label}: median {median * 1000:.0f} ms (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}) "
            f"= {median * 1000 / latency_ms:.2f} round trips")
