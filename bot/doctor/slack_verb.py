"""`/jobbot doctor` in Slack: the same checks as `jobbot doctor`, answered privately, for admins only.

Admins are whoever `access.commands.doctor` in jobbot.yaml allows: the answer names subscriptions, workspaces
and channels, so with no such rule nobody gets it (and is told how to grant it).
"""

from __future__ import annotations

import asyncio
from typing import Any

from bot.clock import Clock
from bot.config import Config
from bot.doctor.azure import azure_findings
from bot.doctor.model import as_text, exit_code
from bot.doctor.slack import slack_findings
from bot.doctor.store import store_findings
from bot.evidence.sources import Readers
from bot.settings import Settings
from bot.slack.handlers import Invocation, VerbHandler
from bot.slack.mrkdwn import fit

NOT_GRANTED = ("`/jobbot doctor` is for admins: allow it for a user group or users under `access.commands.doctor` "
               "in jobbot.yaml (it shows subscriptions, workspaces and channels).")


def doctor_verb(settings: Settings, config: Config, readers: Readers, clock: Clock) -> VerbHandler:
    async def run(call: Invocation) -> str:
        if "doctor" not in config.access.commands:
            await call.respond(response_type="ephemeral", replace_original=False, text=NOT_GRANTED)
            return "refused"
        server_date: Any = getattr(readers.jobs, "server_date", None)
        groups = await asyncio.gather(slack_findings(settings, config),
                                      azure_findings(readers, config, clock.now(), server_date),
                                      store_findings(settings))
        findings = [f for group in groups for f in group]
        verdict = ":white_check_mark: all checks passed" if exit_code(findings) == 0 else ":x: problems found"
        text = f"*jobbot doctor* — {verdict}\n```{fit(as_text(findings), 2800)}```"
        await call.respond(response_type="ephemeral", replace_original=False, text=text)
        return "ok" if exit_code(findings) == 0 else "problems"

    return run
