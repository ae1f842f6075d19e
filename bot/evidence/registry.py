"""The checks a triage runs, in the order the report lists them. Adding a check means adding it here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.evidence.checks import (
    capacity,
    config_changes,
    console_errors,
    exit_codes,
    failures,
    identity,
    image_pulls,
    memory,
    platform_health,
    queue_depth,
    retries,
    scaler,
    stuck_executions,
)
from bot.evidence.sources import Sources
from bot.model import CheckResult


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    run: Callable[[Sources], Awaitable[CheckResult]]
    needs: tuple[str, ...] = ()

    @property
    def doc(self) -> str:
        return (self.run.__doc__ or "").strip()


CHECKS: tuple[Check, ...] = tuple(
    Check(module.NAME, module.run, module.NEEDS)
    for module in (
        failures, retries, exit_codes, queue_depth, config_changes,
        stuck_executions, scaler, image_pulls, capacity, identity, platform_health, console_errors, memory,
    )
)
# The five the report always carries (architecture contract).
CORE_CHECKS = ("failures", "retries", "exit_codes", "queue_depth", "config_changes")


def by_name(name: str) -> Check:
    for check in CHECKS:
        if check.name == name:
            return check
    raise KeyError(name)
