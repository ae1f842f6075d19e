"""The local Azure emulator: scenario files served over HTTPS on loopback to the real SDK clients.

Scenario mode, tests, `jobbot demo` and game days only; production never imports this package (it
needs the `demo` extra: duckdb, duckdb-kql, cryptography). Names are loaded on first use, so
`bot.emulator.scenario` can be imported without starting DuckDB.

    from bot.emulator import Emulator, load_scenario
    with Emulator(load_scenario("scenarios/oom-after-image-change.yaml")) as emulator:
        ...  # emulator.url, emulator.ca_file, emulator.queue_account_url(account), emulator.requests
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.emulator.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
    from bot.emulator.server import Emulator, RecordedRequest, serve_forever

__all__ = [
    "Emulator",
    "RecordedRequest",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "parse_scenario",
    "serve_forever",
]

_HOMES = {
    "Emulator": "server",
    "RecordedRequest": "server",
    "serve_forever": "server",
    "Scenario": "scenario",
    "ScenarioError": "scenario",
    "load_scenario": "scenario",
    "parse_scenario": "scenario",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"bot.emulator.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
