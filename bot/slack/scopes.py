"""The Slack bot scopes jobbot needs, and what for (deploy/slack-app-manifest.yaml lists the same)."""

from __future__ import annotations

from collections.abc import Mapping

REQUIRED_BOT_SCOPES: Mapping[str, str] = {
    "commands": "the /jobbot slash command",
    "chat:write": "reports, alert threads and checklists",
    "chat:write.public": "posting in public incident channels without an invitation",
    "users:read": "names in the audit trail and checklists",
    "usergroups:read": "access rules and owners given as user groups",
    "channels:read": "channel names for alert routing",
    "groups:read": "private incident channels the bot was invited to",
    "files:write": "the review's evidence pack, uploaded as a zip into the review's thread",
}


def granted_scopes(header: str | None) -> frozenset[str]:
    """Scopes from Slack's `x-oauth-scopes` response header ("chat:write,commands")."""
    return frozenset(s.strip() for s in (header or "").split(",") if s.strip())
