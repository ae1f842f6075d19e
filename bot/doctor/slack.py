"""Slack side of `jobbot doctor`: the token, the scopes the features need, and the alert channel."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Config
from bot.doctor.model import Finding, Status
from bot.settings import Settings
from bot.slack.client import web_client
from bot.slack.scopes import REQUIRED_BOT_SCOPES, granted_scopes

APP_PAGE = "api.slack.com/apps → your app"


async def slack_findings(settings: Settings, config: Config) -> list[Finding]:
    if not settings.slack_bot_token:
        return [Finding("slack", "bot token", Status.SKIPPED, "SLACK_BOT_TOKEN is not set: Slack is off")]
    client = web_client(settings.slack_bot_token, settings.slack_api_url, settings.secrets)
    try:
        answer = await client.auth_test()
    except SlackApiError as error:
        return [Finding("slack", "bot token", Status.FAIL, f"Slack refused it ({error.response.get('error')})",
                        f"set SLACK_BOT_TOKEN to the Bot User OAuth Token (xoxb-…) on {APP_PAGE} → OAuth & "
                        "Permissions; reinstall the app if it was revoked")]
    except (aiohttp.ClientError, OSError) as error:
        return [Finding("slack", "bot token", Status.FAIL,
                        f"could not reach Slack at {settings.slack_api_url} ({type(error).__name__})",
                        "check JOBBOT_SLACK_API_URL and that this machine reaches slack.com")]
    findings = [Finding("slack", "bot token", Status.OK, f"valid for {answer.get('team')} as @{answer.get('user')}")]
    granted = granted_scopes(answer.headers.get("x-oauth-scopes") or answer.headers.get("X-OAuth-Scopes"))
    missing = [s for s in REQUIRED_BOT_SCOPES if s not in granted]
    if missing:
        needs = "; ".join(f"{s} ({REQUIRED_BOT_SCOPES[s]})" for s in missing)
        findings.append(Finding("slack", "scopes", Status.FAIL, f"missing {needs}",
                                f"add {', '.join(missing)} under {APP_PAGE} → OAuth & Permissions → Bot Token "
                                "Scopes (deploy/slack-app-manifest.yaml lists them all), then reinstall the app"))
    else:
        findings.append(Finding("slack", "scopes", Status.OK, f"all {len(REQUIRED_BOT_SCOPES)} granted"))
    findings.append(await _channel_finding(client, settings.alert_channel or config.alert_channel, granted))
    return findings


async def _channel_finding(client: AsyncWebClient, channel: str | None, granted: frozenset[str]) -> Finding:
    if not channel:
        return Finding("slack", "alert channel", Status.WARN,
                       "none set: alerts for jobs without a channel of their own have nowhere to go",
                       "set slack.alert_channel in jobbot.yaml (or JOBBOT_ALERT_CHANNEL) to a channel id")
    try:
        info = (await client.conversations_info(channel=channel)).get("channel") or {}
    except SlackApiError as error:
        return Finding("slack", f"alert channel {channel}", Status.FAIL,
                       f"Slack cannot find it ({error.response.get('error')})",
                       "use the channel's id (C…), and for a private channel /invite @jobbot there")
    name = f"#{info.get('name')}" if info.get("name") else channel
    if info.get("is_archived"):
        return Finding("slack", f"alert channel {name}", Status.FAIL, "archived",
                       "unarchive it or set another alert channel")
    if info.get("is_member"):
        return Finding("slack", f"alert channel {name}", Status.OK, "exists, and the bot is a member")
    if not info.get("is_private") and "chat:write.public" in granted:
        return Finding("slack", f"alert channel {name}", Status.OK,
                       "public: the bot posts without being a member (chat:write.public)")
    return Finding("slack", f"alert channel {name}", Status.FAIL, "the bot is not a member",
                   f"/invite @jobbot in {name}")
