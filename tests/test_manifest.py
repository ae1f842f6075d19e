"""The Slack app manifest matches what the code serves and calls."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.slack.app import SLASH_COMMAND
from bot.slack.commands import Verb

MANIFEST = Path(__file__).resolve().parent.parent / "deploy" / "slack-app-manifest.yaml"


def test_manifest_points_slack_at_the_events_route_with_the_scopes_the_bot_uses() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == SLASH_COMMAND
    assert command["url"].endswith("/slack/events")
    assert manifest["settings"]["interactivity"]["request_url"].endswith("/slack/events")
    assert manifest["settings"]["socket_mode_enabled"] is False
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "chat:write.public", "usergroups:read", "groups:read"} <= scopes
    # Every verb, in the order /jobbot help lists them: the hint is what people see while typing.
    verbs = [part.split()[0] for part in command["usage_hint"].split("|")]
    assert verbs == [verb.value for verb in Verb]
