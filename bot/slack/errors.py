"""Slack Web API refusals, translated once into what they mean for jobbot (as `bot/azure/faults.py` does
for Azure). The bot's client (`bot/slack/client.py`) raises these; callers catch the meaning, not codes:

    CannotPost        the bot may not write in that channel (not a member, archived, gone, restricted)
    MessageGone       the message to update is not there any more (deleted, channel archived or gone)
    RateLimited       HTTP 429: `retry_after` seconds, after the client's own retries gave up
    SlackUnavailable  HTTP 5xx or Slack's own internal errors: try again later
    SlackRefused      any other refusal (a bug, a missing scope): not worth retrying

They stay `SlackApiError`s (with Slack's `response`) so that Bolt and the SDK still recognise them; `code`
is Slack's error string, or `HTTP <status>` when the body had none.
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

DEFAULT_RETRY_AFTER_S = 1.0
MAX_RETRY_AFTER_S = 300.0  # a Retry-After beyond this is a bug somewhere; wait this long and try again

# What a post into a channel the bot cannot write in gets back; no retry fixes it.
_CANNOT_POST = frozenset({"not_in_channel", "channel_not_found", "is_archived", "restricted_action"})
# What an update (or a permalink) of a message that is no longer there gets back.
_MESSAGE_GONE = frozenset({"message_not_found", "channel_not_found", "is_archived", "cant_update_message"})
_POSTS = frozenset({"chat.postMessage", "chat.postEphemeral"})
_ON_A_MESSAGE = frozenset({"chat.update", "chat.delete", "chat.getPermalink"})
_UNAVAILABLE = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})


class SlackFailure(SlackApiError):
    """A Slack Web API call was refused; see the subclasses for what it means."""

    def __init__(self, method: str, error: SlackApiError) -> None:
        response = error.response
        self.method = method
        found = response.data.get("error") if isinstance(response.data, dict) else None
        self.code = str(found or f"HTTP {response.status_code}")
        super().__init__(f"{method}: {self.code}", response)  # type: ignore[no-untyped-call]


class CannotPost(SlackFailure):
    pass


class MessageGone(SlackFailure):
    pass


class RateLimited(SlackFailure):
    def __init__(self, method: str, error: SlackApiError) -> None:
        super().__init__(method, error)
        self.retry_after = _retry_after(error)


class SlackUnavailable(SlackFailure):
    pass


class SlackRefused(SlackFailure):
    pass


def translate(method: str, error: SlackApiError) -> SlackFailure:
    """What `error` from a `method` call means; an already translated error is returned as it is."""
    if isinstance(error, SlackFailure):
        return error
    response = error.response
    # A server that is not Slack (a wrong JOBBOT_SLACK_API_URL) answers a page, not JSON: no code then.
    code = str(response.data.get("error") or "") if isinstance(response.data, dict) else ""
    if response.status_code == 429 or code == "ratelimited":
        return RateLimited(method, error)
    if response.status_code >= 500 or code in _UNAVAILABLE:
        return SlackUnavailable(method, error)
    if method in _POSTS and code in _CANNOT_POST:
        return CannotPost(method, error)
    if method in _ON_A_MESSAGE and code in _MESSAGE_GONE:
        return MessageGone(method, error)
    return SlackRefused(method, error)


def _retry_after(error: SlackApiError) -> float:
    for name, value in (error.response.headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) else value
            try:
                return min(MAX_RETRY_AFTER_S, max(0.0, float(raw)))
            except (TypeError, ValueError):
                break
    return DEFAULT_RETRY_AFTER_S
