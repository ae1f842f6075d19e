"""Pillar scores (review.md §3): 100 × (1 − Σpenalty / Σweight) over the evaluated rules.

Weights H 3, M 2, L 1; a fail costs its whole weight, a warn half. `total` counts the rules that apply
(a skipped rule does not); a pillar with fewer than half of them evaluated (the rest `error`) shows n/a.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.review.findings import Finding, Pillar, PillarScore, Status

EVALUATED = frozenset({Status.OK, Status.WARN, Status.FAIL})
PENALTY = {Status.OK: 0.0, Status.WARN: 0.5, Status.FAIL: 1.0}


def pillar_score(findings: Iterable[Finding]) -> PillarScore:
    applicable = [f for f in findings if f.status is not Status.SKIPPED]
    evaluated = [f for f in applicable if f.status in EVALUATED]
    if not evaluated or len(evaluated) * 2 < len(applicable):
        return PillarScore(None, len(evaluated), len(applicable))
    weight = sum(f.severity.weight for f in evaluated)
    penalty = sum(f.severity.weight * PENALTY[f.status] for f in evaluated)
    return PillarScore(round(100 * (1 - penalty / weight)), len(evaluated), len(applicable))


def scores(findings: Iterable[Finding]) -> dict[Pillar, PillarScore]:
    listed = list(findings)
    return {pillar: pillar_score(f for f in listed if f.pillar is pillar) for pillar in Pillar}
