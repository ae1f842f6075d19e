"""Order as Azure promises it: none. A seeded shuffle of stored rows, query results and ARM lists.

Log Analytics returns rows in no promised order (and which rows survive a tie at a `top N` cut is up to
the engine); ARM lists jobs, executions and events in no promised order either. With shuffling on, the
emulator makes that visible: anything jobbot shows or decides that depends on arrival order then
changes from one seed to the next (tests/test_same_world_same_report.py).

Each permutation is derived from the seed and a key naming what is shuffled (the table, the query
text, the list's path), never from a shared random stream, so one seed gives the same world whatever
order concurrent requests arrive in: a failure seen with a seed can be replayed with it.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping, Sequence
from typing import TypeVar

from bot.errors import ConfigError

T = TypeVar("T")

ENV_VAR = "JOBBOT_EMULATOR_SHUFFLE"
SEED_ENV_VAR = "JOBBOT_EMULATOR_SHUFFLE_SEED"


class Shuffle:
    """Permutes sequences reproducibly for one seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __repr__(self) -> str:
        return f"Shuffle(seed={self.seed})"

    def items(self, key: str, items: Sequence[T]) -> list[T]:
        """`items` in an order fixed by (seed, key), different from the given one where it can be."""
        out = list(items)
        random.Random(f"{self.seed}\0{key}").shuffle(out)
        return out


def shuffle_from_env(environ: Mapping[str, str] | None = None) -> Shuffle | None:
    """JOBBOT_EMULATOR_SHUFFLE=1 turns shuffling on; JOBBOT_EMULATOR_SHUFFLE_SEED=N picks the seed
    (default: a fresh one). Unset, empty, 0, false, no, off: no shuffling."""
    env = os.environ if environ is None else environ
    flag = env.get(ENV_VAR, "").strip().lower()
    if flag in ("", "0", "false", "no", "off"):
        return None
    if flag not in ("1", "true", "yes", "on"):
        raise ConfigError([f"{ENV_VAR}: {flag!r} is not 1 or 0"])
    seed_text = env.get(SEED_ENV_VAR, "").strip()
    if not seed_text:
        return Shuffle(random.SystemRandom().randrange(2**32))
    try:
        return Shuffle(int(seed_text))
    except ValueError:
        raise ConfigError([f"{SEED_ENV_VAR}: {seed_text!r} is not an integer"]) from None
