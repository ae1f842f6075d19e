"""A review rule: its id, pillar, severity and anchors (the contract), and the function that judges facts.

Each pillar module lists its rules with `@rule(...)`; `bot.review.rules` collects them in id order.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import NotApplicable
from bot.review.facts import Facts, NotRead
from bot.review.findings import Finding, Outcome, Pillar, Severity, Status

log = logging.getLogger(__name__)
Judge = Callable[[Facts], Outcome]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    pillar: Pillar
    severity: Severity
    title: str  # what the rule checks, used when it could not say more (error, skipped)
    anchors: tuple[str, ...]
    judge: Judge

    def evaluate(self, facts: Facts) -> Finding:
        """Never raises: a rule that cannot judge is `error` with the reason, one that does not apply `skipped`."""
        try:
            outcome = self.judge(facts)
        except NotApplicable as why:
            outcome = Outcome(Status.SKIPPED, f"{self.title}: skipped ({why})")
        except NotRead as why:
            outcome = Outcome(Status.ERROR, f"{self.title}: {why}")
        except Exception as error:  # a bug in one rule must not cost the whole review
            log.exception("review rule crashed", extra={"rule": self.id, "job": facts.job.ref.name})
            outcome = Outcome(Status.ERROR, f"{self.title}: internal error ({type(error).__name__})")
        return Finding(self.id, self.pillar, self.severity, outcome.status, outcome.title, outcome.evidence,
                       outcome.fix, self.anchors, outcome.money)


def rule(registry: list[Rule], rule_id: str, pillar: Pillar, severity: str, title: str,
         *anchors: str) -> Callable[[Judge], Judge]:
    def add(judge: Judge) -> Judge:
        registry.append(Rule(rule_id, pillar, Severity(severity), title, tuple(anchors), judge))
        return judge
    return add


def az_job(facts: Facts, query: str) -> str:
    """A read-only `az containerapp job show` of the reviewed job, narrowed by a JMESPath query."""
    ref = facts.job.ref
    return (f"az containerapp job show --name {shlex.quote(ref.name)} --resource-group "
            f"{shlex.quote(ref.resource_group)} --query {shlex.quote(query)}")


def job_source(facts: Facts) -> str:
    return f"GET Microsoft.App/jobs/{facts.job.ref.name}"
