"""Optional extras: a command that needs one says in one line what to install, instead of a traceback.

Scenario mode (`jobbot demo`, any `--scenario`) runs the local Azure emulator, whose KQL engine and
throwaway TLS certificate come from the `demo` extra; production installs (and the container image)
leave it out on purpose.
"""

from __future__ import annotations

import importlib

from bot.errors import MissingExtra

DEMO_MODULES = ("duckdb", "duckdb_kql", "cryptography")
DEMO_INSTALL = "pip install 'jobbot[demo]'"


def require_demo_extra() -> None:
    """Raise MissingExtra naming the install command when any module of the demo extra is missing."""
    missing = []
    for name in DEMO_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise MissingExtra(
            f"the local Azure emulator (demo, --scenario) needs the demo extra, and {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not installed: {DEMO_INSTALL}"
        )
