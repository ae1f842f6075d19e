"""The Bolt app: `/jobbot` acked at once (usage help, refusals, "checking …"), the work after the ack in a
Bolt lazy listener (`bot/slack/lazy.py` keeps it for shutdown); one error handler and one audit entry per
request (`bot/slack/listening.py`)."""

from __future__ import annotations

import asyncio
import logging
import secrets as random_secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import AccessPolicy
from bot.errors import InvalidRequest
from bot.slack.commands import Verb, help_text, parse_command
from bot.slack.handlers import CommandService, Invocation
from bot.slack.lazy import LazyWork
from bot.slack.listening import Audited, audited, on_error, record
from bot.store.redact import redact_data

log = logging.getLogger(__name__)

Audit = Callable[..., Awaitable[None]]
SLASH_COMMAND = "/jobbot"


def build_bolt_app(
    *,
    client: AsyncWebClient,
    signing_secret: str,
    service: CommandService,
    access: AccessPolicy,
    audit: Audit,
    secrets: tuple[str, ...] = (),
) -> AsyncApp:
    async def authorize(enterprise_id: str | None, team_id: str | None, **_: Any) -> AuthorizeResult:
        # Single workspace, token known: no auth.test round trip in the 3-second ack path.
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=client.token)

    # Verification is always on: Bolt skips it only for Socket Mode requests (they arrive over the
    # app-level websocket, not HTTP), so an HTTP request can never bypass the signature check. Without a
    # configured secret (Socket Mode) a random one makes every HTTP request fail verification with 401.
    app = AsyncApp(client=client, signing_secret=signing_secret or random_secrets.token_hex(32), authorize=authorize,
                   process_before_response=False, request_verification_enabled=True)
    app.use(_redacting_replies(secrets))
    app.error(on_error)
    LazyWork.install(app)

    async def admit(context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]) -> Any:
        context["admission"] = Admission()  # made before the ack function and the lazy one start
        return await next()

    async def on_command(ack: Any, command: dict[str, Any], context: AsyncBoltContext) -> None:
        """Answer at once (usage, refusal, "checking …") and tell the lazy half whether to go on."""
        admission: Admission = context["admission"]
        user, channel, text = _who_what(command)
        admission.text = text
        entry = Audited(user, channel, "command:invalid", text, outcome="refused")
        try:
            try:
                parsed = parse_command(text, SLASH_COMMAND)
            except InvalidRequest as error:
                await ack(response_type="ephemeral", text=str(error))
                await record(audit, entry, admission.started)
                return
            entry.action, entry.target = f"command:{parsed.verb}", parsed.job.name if parsed.job else None
            decision = await access.decide(parsed.verb.value, user, channel)
            if not decision.allowed:
                await ack(response_type="ephemeral", text=f":no_entry: {decision.reason}")
                await record(audit, entry, admission.started)
                return
            if parsed.verb is Verb.HELP:
                await ack(response_type="ephemeral", text=help_text(SLASH_COMMAND))
                entry.action, entry.target, entry.outcome = "command:help", None, "ok"
                await record(audit, entry, admission.started)
                return
            what = f"*{entry.target}*" if entry.target else "the jobs"
            await ack(response_type="ephemeral", text=f":mag: Checking {what} …")
            respond = context.respond
            assert respond is not None  # Bolt makes one for every request (slash commands carry a response_url)
            admission.admit(Invocation(parsed, user, channel, respond))
        finally:
            admission.close()

    async def run_command(context: AsyncBoltContext) -> None:
        """The slow half, after the ack: only what the ack function let through runs. It reads the command
        from the ack function's decision, not from its own copy of the request: Bolt re-parses the raw body
        for a lazy listener, and Bolt 1.30 misparses a body mentioning "payload" (see `bolt_request`)."""
        admission: Admission = context["admission"]
        call = await admission.wait()
        if call is None:
            return
        command = call.command
        entry = Audited(call.user_id, call.channel_id, f"command:{command.verb}", admission.text,
                        target=command.job.name if command.job else None,
                        sorry=":warning: Sorry, that command failed inside jobbot. It has been logged.")

        async def tell(message: str) -> None:
            await call.respond(response_type="ephemeral", replace_original=False, text=message)

        async with audited(audit, entry, tell, started=admission.started):
            entry.outcome = await service.run(call)

    app.command(SLASH_COMMAND, middleware=[admit])(ack=on_command, lazy=[run_command])
    return app


class Admission:
    """The ack function's decision, handed to the lazy function of the same request.

    With `process_before_response=False` Bolt starts the lazy function alongside the ack function, on a
    deep copy of the request's context: this object copies as itself, so both hold the same decision."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.text = ""  # the command as typed, for the audit trail
        self._decided: asyncio.Future[Invocation | None] = asyncio.get_running_loop().create_future()

    def __deepcopy__(self, memo: dict[int, Any]) -> Admission:
        return self

    def admit(self, call: Invocation) -> None:
        if not self._decided.done():
            self._decided.set_result(call)

    def close(self) -> None:
        """Refuse, unless admitted: the ack function ends one way or another, and the lazy half stops waiting."""
        if not self._decided.done():
            self._decided.set_result(None)

    async def wait(self) -> Invocation | None:
        return await asyncio.shield(self._decided)


def _who_what(command: dict[str, Any]) -> tuple[str, str, str]:
    return str(command.get("user_id", "")), str(command.get("channel_id", "")), str(command.get("text", ""))


class _RedactingAck(AsyncAck):
    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.secrets = secrets

    async def __call__(self, text: Any = "", blocks: Any = None, **kwargs: Any) -> BoltResponse:  # type: ignore[override]
        return await super().__call__(redact_data(text, self.secrets), redact_data(blocks, self.secrets), **kwargs)


class _RedactingRespond(AsyncRespond):
    def __init__(self, secrets: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.secrets = secrets

    async def __call__(self, text: Any = "", blocks: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
        return await super().__call__(redact_data(text, self.secrets), redact_data(blocks, self.secrets), **kwargs)


def _redacting_replies(secrets: tuple[str, ...]) -> Callable[..., Awaitable[Any]]:
    """Middleware: the request's ack() and respond() redact what they send (the HTTP answer and the
    response_url post are Slack boundaries too, outside the Web API client)."""

    async def middleware(context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]) -> Any:
        context["ack"] = _RedactingAck(secrets)
        if context.response_url:
            context["respond"] = _RedactingRespond(secrets, response_url=context.response_url,
                                                   proxy=context.client.proxy, ssl=context.client.ssl)
        return await next()

    return middleware


MAX_SLACK_BODY = 512 * 1024
_INTERACTIVE = {"block_actions", "view_submission", "view_closed"}


def payload_problem(body: Any) -> str | None:
    """What makes `body` unlike anything Slack sends to the listeners registered here, or None. Bolt and
    the listeners index into these fields; a payload of another shape would fail deep inside them."""
    if not isinstance(body, dict):
        return "payload is not a JSON object"
    if body.get("type") not in _INTERACTIVE:
        return None  # slash commands (form fields), and types Bolt answers 404 for by itself
    user = body.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        return "payload has no user id"
    for key in ("channel", "container", "message", "view", "team"):
        if key in body and body[key] is not None and not isinstance(body[key], dict):
            return f"payload field {key} is not an object"
    if body["type"] == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions or not all(
                isinstance(a, dict) and isinstance(a.get("action_id"), str)
                and isinstance(a.get("value", ""), str) for a in actions):
            return "payload actions are not a list of actions"
    elif not isinstance(body.get("view"), dict):
        return "payload has no view"
    return None  # Slack's own payloads are a few KB; a message's blocks stay far below this


def bolt_request(body: bytes, query: dict[str, str], headers: dict[str, str]) -> AsyncBoltRequest:
    """An AsyncBoltRequest that survives Bolt 1.30's parse bug, or InvalidRequest for a body or headers no
    Slack request has (Bolt would answer those with a 500 from deep inside its parsing).

    Bolt treats any form body containing the substring "payload" as an interactivity payload, so
    `/jobbot triage payload-worker` (or a channel named #payload-…) parses to {} and gets a 404. Here the
    raw body is kept for signature verification and, when the form has no `payload` field, the fields are
    parsed as the slash command they are.
    """
    timestamp = {k.lower(): v for k, v in headers.items()}.get("x-slack-request-timestamp", "")
    if not timestamp.isascii() or not timestamp.isdigit():
        raise InvalidRequest("X-Slack-Request-Timestamp must be a number of seconds")
    if len(body) > MAX_SLACK_BODY:
        raise InvalidRequest("body too large")
    try:
        raw = body.decode("utf-8")
        request = AsyncBoltRequest(body=raw, query=query, headers=headers)  # type: ignore[arg-type]
    except Exception as error:  # not UTF-8, `payload` not JSON or not an object (Bolt reads it as a dict)
        raise InvalidRequest("body is not a Slack request") from error
    problem = payload_problem(request.body)
    if problem:
        raise InvalidRequest(problem)
    if request.body == {} and raw and not raw.lstrip().startswith("{"):
        fields = dict(parse_qsl(raw, keep_blank_values=True))
        if "payload" not in fields:
            request.body = fields
            request.context = build_async_context(AsyncBoltContext({}), fields)
    return request
