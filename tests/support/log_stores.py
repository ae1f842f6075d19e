"""Every bundled scenario's Log Analytics tables, loaded once into the emulator's engine: for tests that run
the canned queries against every world (batched, combined) and compare answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.assets import bundled_scenarios
from bot.emulator.logs import LogStore
from bot.emulator.scenario import Scenario, load_scenario

Stores = dict[str, tuple[Scenario, LogStore]]


def open_log_stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
    """Yield {scenario stem: (scenario, its log store)}; the stores are closed after."""
    opened: Stores = {}
    for path in bundled_scenarios():
        scenario = load_scenario(path)
        opened[path.stem] = (scenario, LogStore(scenario, tmp_path_factory.mktemp(path.stem)))
    yield opened
    for _, store in opened.values():
        store.close()
