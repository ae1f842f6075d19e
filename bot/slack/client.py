"""The one Slack Web API client: every call goes through here, with slack_sdk's retry handlers on 429
(Retry-After), 5xx and connection errors, each bounded by its count. Every call's arguments pass the
redaction boundary (bot/boundary.py) on the way out, and every refusal comes back translated into what it
means (`bot/slack/errors.py`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.slack.errors import translate
from bot.store.redact import redact_data, usable_secrets
from bot.telemetry.metrics import CALLS_TO_SLACK

DEFAULT_API_URL = "https://slack.com/api/"


class RedactingWebClient(AsyncWebClient):
    """AsyncWebClient whose every API call (chat.postMessage, chat.update, chat.postEphemeral, views …)
    has its text, blocks and other arguments redacted. The token travels in a header and is untouched.
    A refusal raises a `SlackFailure` subclass (CannotPost, MessageGone, RateLimited …)."""

    def __init__(self, *args: Any, secrets: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.secrets = usable_secrets(secrets)

    async def api_call(self, api_method: str, *, json: dict[str, Any] | None = None,  # type: ignore[override]
                       data: Any = None, params: dict[str, Any] | None = None, **kwargs: Any) -> AsyncSlackResponse:
        try:
            response = await super().api_call(api_method, json=self._clean(json), data=self._clean(data),
                                              params=self._clean(params), **kwargs)
        except SlackApiError as error:  # after the retry handlers gave up
            failure = translate(api_method, error)
            CALLS_TO_SLACK.labels(api_method, failure.code).inc()
            raise failure from None
        except Exception:
            CALLS_TO_SLACK.labels(api_method, "no-answer").inc()
            raise
        CALLS_TO_SLACK.labels(api_method, "ok").inc()
        return response

    def _clean(self, fields: Any) -> Any:
        """Every argument redacted but `token`: slack_sdk passes a call's own token (apps.connections.open's
        app-level token) as that argument and moves it to the Authorization header; it is not text."""
        if not isinstance(fields, dict):
            return fields
        return {k: v if k == "token" else redact_data(v, self.secrets) for k, v in fields.items()}


def web_client(token: str, api_url: str = DEFAULT_API_URL, secrets: Iterable[str] = ()) -> AsyncWebClient:
    return RedactingWebClient(
        secrets=secrets,
        token=token,
        base_url=api_url if api_url.endswith("/") else api_url + "/",
        timeout=15,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
            AsyncServerErrorRetryHandler(max_retry_count=2),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )
