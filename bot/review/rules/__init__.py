"""Every review rule, in report order (pillar, then id). Adding a rule means adding it to its pillar module."""

from __future__ import annotations

from bot.review.rule import Rule
from bot.review.rules import cost, operations, performance, reliability, security

RULES: tuple[Rule, ...] = (*security.RULES, *cost.RULES, *reliability.RULES, *performance.RULES, *operations.RULES)


def by_id(rule_id: str) -> Rule:
    for found in RULES:
        if found.id == rule_id:
            return found
    raise KeyError(rule_id)
