"""A fake Slack Web API (and response_url endpoint) on 127.0.0.1, for tests that use the real Slack SDKs.

Point the bot's ``WebClient``/``AsyncWebClient`` at :attr:`FakeSlack.api_url` (its ``base_url``; the bot reads
it from ``JOBBOT_SLACK_API_URL``) and put :meth:`FakeSlack.response_url` into signed slash commands and
button clicks. Every call is recorded (:attr:`FakeSlack.calls`), messages are kept with their latest text and
blocks (:attr:`FakeSlack.messages`), response_url posts are kept in :attr:`FakeSlack.responses`, and
rate limits, server errors and slow answers can be injected per method.

Two ways to run it::

    async with FakeSlack() as slack:          # in the test's event loop
        ...
        await slack.wait_for(lambda: slack.calls_to("chat.update"))

    with FakeSlack.in_thread() as slack:      # own loop in a background thread (bot in another loop/process)
        ...
        slack.wait_for_sync(lambda: slack.calls_to("chat.update"))

Behaviour that mirrors Slack: errors are HTTP 200 with ``{"ok": false, "error": ...}``; a missing
``Authorization: Bearer`` gives ``not_authed``; unknown methods give ``unknown_method``; blocks are checked
against the Block Kit limits Slack enforces (``invalid_blocks`` with ``errors``); text longer than 40,000
characters is truncated; a response_url takes 5 posts, then answers 404 ``used_url``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from aiohttp import web

from bot.slack.scopes import REQUIRED_BOT_SCOPES

__all__ = ["RESPONSE_URL", "Call", "FakeSlack", "block_errors"]

T = TypeVar("T")

#: Pseudo method name for posts to a response_url, usable with :meth:`FakeSlack.fail_next` and :meth:`FakeSlack.delay`.
RESPONSE_URL = "response_url"

MAX_TEXT = 40_000
_FIRST_TS_MICROS = 1_700_000_000_000_100
_TS_STEP_MICROS = 100


@dataclass(frozen=True)
class Call:
    """One Web API call as the fake received and answered it."""

    method: str
    args: dict[str, Any]
    at: float  # time.monotonic() when the request arrived
    status: int = 200
    ok: bool = True
    error: str | None = None
    http_method: str = "POST"
    content_type: str = ""
    token: str | None = None
    response: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Fault:
    status: int
    retry_after: int | None
    error: str


@dataclass
class _Delay:
    seconds: float
    remaining: int | None


class _ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


Handler = Callable[[dict[str, Any]], dict[str, Any]]


# --------------------------------------------------------------------------------------------------------------------
# Block Kit checks (the limits Slack enforces with `invalid_blocks`)
# --------------------------------------------------------------------------------------------------------------------


def _text_of(obj: Any) -> str | None:
    if isinstance(obj, dict):
        value = obj.get("text")
        return value if isinstance(value, str) else None
    return None


def block_errors(blocks: Any, *, max_blocks: int = 50) -> list[str]:
    """Slack-style error strings for blocks that Slack would reject with ``invalid_blocks`` (empty if fine)."""
    errors: list[str] = []

    def too_long(value: str | None, limit: int, pointer: str) -> None:
        if value is not None and len(value) > limit:
            errors.append(f"must be less than {limit + 1} characters [json-pointer:{pointer}]")

    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    if len(blocks) > max_blocks:
        errors.append(f"must be less than {max_blocks + 1} items [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        where = f"/blocks/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errors.append(f"missing required field: type [json-pointer:{where}]")
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            too_long(block_id, 255, f"{where}/block_id")
        kind = block["type"]
        if kind == "section":
            if "text" not in block and "fields" not in block:
                errors.append(f"must provide either text or fields [json-pointer:{where}]")
            too_long(_text_of(block.get("text")), 3000, f"{where}/text/text")
            fields = block.get("fields") or []
            if len(fields) > 10:
                errors.append(f"must be less than 11 items [json-pointer:{where}/fields]")
            for j, item in enumerate(fields):
                too_long(_text_of(item), 2000, f"{where}/fields/{j}/text")
            accessory = block.get("accessory")
            if isinstance(accessory, dict):
                _element_errors(accessory, f"{where}/accessory", too_long, errors)
        elif kind == "header":
            text = block.get("text")
            if not isinstance(text, dict) or text.get("type") != "plain_text":
                errors.append(f"must be a plain_text object [json-pointer:{where}/text]")
            too_long(_text_of(text), 150, f"{where}/text/text")
        elif kind == "context":
            elements = block.get("elements") or []
            if len(elements) > 10:
                errors.append(f"must be less than 11 items [json-pointer:{where}/elements]")
            for j, element in enumerate(elements):
                too_long(_text_of(element), 3000, f"{where}/elements/{j}/text")
        elif kind == "actions":
            elements = block.get("elements") or []
            if len(elements) > 25:
                errors.append(f"must be less than 26 items [json-pointer:{where}/elements]")
            for j, element in enumerate(elements):
                if isinstance(element, dict):
                    _element_errors(element, f"{where}/elements/{j}", too_long, errors)
    return errors


def _element_errors(
    element: dict[str, Any], where: str, too_long: Callable[[str | None, int, str], None], errors: list[str]
) -> None:
    action_id = element.get("action_id")
    if isinstance(action_id, str):
        too_long(action_id, 255, f"{where}/action_id")
    if element.get("type") == "button":
        too_long(_text_of(element.get("text")), 75, f"{where}/text/text")
        value = element.get("value")
        too_long(value if isinstance(value, str) else None, 2000, f"{where}/value")
        url = element.get("url")
        too_long(url if isinstance(url, str) else None, 3000, f"{where}/url")
    elif element.get("type") == "overflow":
        options = element.get("options") or []
        if not 1 <= len(options) <= 5:
            errors.append(f"must have between 1 and 5 items [json-pointer:{where}/options]")


# --------------------------------------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------------------------------------


class FakeSlack:
    """A fake Slack Web API server. See the module docstring."""

    def __init__(
        self,
        *,
        usergroups: Mapping[str, Sequence[str]] | None = None,
        users: Mapping[str, Mapping[str, Any]] | None = None,
        channels: Mapping[str, Mapping[str, Any]] | None = None,
        token: str | None = None,
        team_id: str = "T0TEAM",
        team: str = "Example",
        bot_user_id: str = "U0JOBBOT",
        bot_id: str = "B0JOBBOT",
        validate_blocks: bool = True,
        response_url_uses: int = 5,
        host: str = "127.0.0.1",
        scopes: Sequence[str] | None = None,
    ) -> None:
        """Create (not start) the fake.

        usergroups: usergroup id -> user ids, for ``usergroups.users.list`` (mutable later: ``set_usergroup``).
        users: user id -> extra fields for ``users.info``; unknown ``U…``/``W…`` ids get a generated user,
            other ids ``user_not_found``.
        channels: channel id -> ``{"name": ..., "is_private": bool, "is_member": bool}``; unknown ``C…``/``G…``/``D…``
            ids are public channels named after the id, other ids ``channel_not_found``. Posting to a private
            channel with ``is_member: False`` answers ``channel_not_found`` as Slack does.
        token: if given, the only bot token accepted (others: ``invalid_auth``); otherwise any ``xoxb-``/``xoxp-``.
        scopes: the bot token's granted scopes, sent as Slack does in every answer's ``x-oauth-scopes`` header
            (default: every scope jobbot asks for).
        """
        self.host = host
        self.team_id = team_id
        self.team = team
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.token = token
        self.validate_blocks = validate_blocks
        self.response_url_uses = response_url_uses
        self.scopes = list(REQUIRED_BOT_SCOPES if scopes is None else scopes)

        self._lock = threading.RLock()
        self._usergroups: dict[str, list[str]] = {k: list(v) for k, v in (usergroups or {}).items()}
        self._users: dict[str, dict[str, Any]] = {
            "U0ONCALL": {"name": "oncall", "real_name": "On Call"},
            **{k: dict(v) for k, v in (users or {}).items()},
        }
        self._channels: dict[str, dict[str, Any]] = {
            "C0INC": {"name": "incident"},
            **{k: dict(v) for k, v in (channels or {}).items()},
        }
        self._calls: list[Call] = []
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._versions: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._threads: dict[tuple[str, str], list[str]] = {}
        self._ephemerals: list[dict[str, Any]] = []
        self._responses: list[dict[str, Any]] = []
        self._response_bindings: dict[str, tuple[str, str]] = {}
        self._response_uses: dict[str, int] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self._delays: dict[str, _Delay] = {}
        self._extra: dict[str, Handler] = {}
        self._ts = itertools.count(_FIRST_TS_MICROS, _TS_STEP_MICROS)

        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

        self._methods: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.info": self._conversations_info,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "reactions.add": self._reactions_add,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
        }
        self._uploads: dict[str, dict[str, Any]] = {}  # file id -> what getUploadURLExternal was told, and the bytes
        self._files: list[dict[str, Any]] = []  # completed uploads, shared or not
        self._file_ids = itertools.count(1)

    # ---------------------------------------------------------------------------------------------------- lifecycle

    async def start(self) -> FakeSlack:
        if self._runner is not None:
            raise RuntimeError("FakeSlack is already running")
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{token}", self._handle_response)
        app.router.add_post("/upload/v1/{file_id}", self._handle_upload)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, self.host, 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._loop = asyncio.get_running_loop()
        return self

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @classmethod
    @contextlib.contextmanager
    def in_thread(cls, **kwargs: Any) -> Iterator[FakeSlack]:
        """Run a ``FakeSlack(**kwargs)`` on its own event loop in a daemon thread for the ``with`` block."""
        slack = cls(**kwargs)
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(slack.start())
            except BaseException as exc:
                failure.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()

        thread = threading.Thread(target=run, name="fake-slack", daemon=True)
        thread.start()
        try:
            if not started.wait(10):
                raise RuntimeError("FakeSlack did not start within 10 s")
            if failure:
                raise RuntimeError("FakeSlack failed to start") from failure[0]
            slack._thread = thread
            yield slack
        finally:
            if not failure and thread.is_alive():
                with contextlib.suppress(Exception):
                    asyncio.run_coroutine_threadsafe(slack.stop(), loop).result(10)
                loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            if not thread.is_alive():
                loop.close()
            slack._thread = None

    # ---------------------------------------------------------------------------------------------------- addresses

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeSlack is not running")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """The Web API base URL for ``WebClient(base_url=...)``; ends with "/"."""
        return f"{self.base_url}/api/"

    def response_url(self, token: str, *, channel: str | None = None, ts: str | None = None) -> str:
        """A response_url for signed requests. With ``channel`` and ``ts``, ``replace_original``/``delete_original``
        posts to it change that message in :attr:`messages`, as they would for the message holding a button."""
        if (channel is None) != (ts is None):
            raise ValueError("give both channel and ts, or neither")
        if channel is not None and ts is not None:
            with self._lock:
                self._response_bindings[token] = (channel, ts)
        return f"{self.base_url}/response/{token}"

    # ---------------------------------------------------------------------------------------------------- state

    @property
    def calls(self) -> list[Call]:
        """Every Web API call in the order answered (a snapshot)."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if c.method == method]

    def ok_calls_to(self, method: str) -> list[Call]:
        """Calls of ``method`` that succeeded (not rate limited, not an error)."""
        return [c for c in self.calls_to(method) if c.ok]

    @property
    def messages(self) -> dict[tuple[str, str], dict[str, Any]]:
        """(channel, ts) -> the message as it is now (latest text/blocks; deleted messages are gone)."""
        with self._lock:
            return dict(self._messages)

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        with self._lock:
            return self._messages[(channel, ts)]

    def history(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """Every version of a message: as posted, then after each update."""
        with self._lock:
            return list(self._versions.get((channel, ts), []))

    def channel_messages(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages of a channel in posting order."""
        with self._lock:
            found = [m for (ch, _), m in self._messages.items() if ch == channel and "thread_ts" not in m]
        return sorted(found, key=lambda m: m["ts"])

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """Replies posted with ``thread_ts=ts`` (latest versions, in order)."""
        with self._lock:
            keys = self._threads.get((channel, ts), [])
            return [self._messages[(channel, k)] for k in keys if (channel, k) in self._messages]

    @property
    def ephemerals(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._ephemerals)

    @property
    def responses(self) -> list[dict[str, Any]]:
        """Posts to response_urls: ``token, body, response_type, replace_original, delete_original, text, blocks,
        status, at``. ``response_type``/``replace_original`` are as sent (None when absent)."""
        with self._lock:
            return list(self._responses)

    def responses_to(self, token: str) -> list[dict[str, Any]]:
        return [r for r in self.responses if r["token"] == token]

    @property
    def files(self) -> list[dict[str, Any]]:
        """Completed uploads (files.completeUploadExternal): ``id, name, title, size, content`` (bytes), and
        ``channel``, ``thread_ts``, ``initial_comment`` where the file was shared."""
        with self._lock:
            return [dict(f) for f in self._files]

    def set_usergroup(self, usergroup: str, user_ids: Sequence[str]) -> None:
        with self._lock:
            self._usergroups[usergroup] = list(user_ids)

    def add_user(self, user_id: str, **fields: Any) -> None:
        with self._lock:
            self._users[user_id] = dict(fields)

    def add_channel(self, channel_id: str, name: str, *, is_private: bool = False, is_member: bool = True) -> None:
        with self._lock:
            self._channels[channel_id] = {"name": name, "is_private": is_private, "is_member": is_member}

    def register(self, method: str, handler: Handler) -> None:
        """Answer ``method`` with ``handler(args)`` (a dict; ``ok: True`` is added unless given)."""
        with self._lock:
            self._extra[method] = handler

    def clear(self) -> None:
        """Forget recorded calls, messages, responses and pending faults/delays (configuration stays)."""
        with self._lock:
            self._calls.clear()
            self._messages.clear()
            self._versions.clear()
            self._threads.clear()
            self._ephemerals.clear()
            self._responses.clear()
            self._response_uses.clear()
            self._faults.clear()
            self._delays.clear()

    # ---------------------------------------------------------------------------------------------------- faults

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int | None = 1,
        times: int = 1,
        error: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP ``status`` and ``{"ok": false, "error": ...}``.

        ``error`` defaults to ``ratelimited`` for 429 and ``internal_error`` for 5xx. A ``Retry-After`` header is
        sent whenever ``retry_after`` is not None. Failed calls are recorded with their status. Use
        ``RESPONSE_URL`` as the method to fail posts to response_urls.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        if error is None:
            error = "ratelimited" if status == 429 else "internal_error" if status >= 500 else "invalid_request"
        with self._lock:
            queue = self._faults.setdefault(method, deque())
            queue.extend(_Fault(status, retry_after, error) for _ in range(times))

    def delay(self, method: str, seconds: float, times: int | None = None) -> None:
        """Answer calls of ``method`` ``seconds`` late (the next ``times`` calls, or all until ``delay(method, 0)``)."""
        with self._lock:
            if seconds <= 0:
                self._delays.pop(method, None)
            else:
                self._delays[method] = _Delay(seconds, times)

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            queue = self._faults.get(method)
            if not queue:
                return None
            return queue.popleft()

    def _take_delay(self, method: str) -> float:
        with self._lock:
            d = self._delays.get(method)
            if d is None:
                return 0.0
            if d.remaining is not None:
                d.remaining -= 1
                if d.remaining <= 0:
                    del self._delays[method]
            return d.seconds

    # ---------------------------------------------------------------------------------------------------- waiting

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 5,  # noqa: ASYNC109 - a polling deadline, the name tests expect
        interval: float = 0.01,
    ) -> T:
        """Poll ``predicate()`` until it is truthy and return its value; AssertionError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(f"condition not met within {timeout} s; {self._summary()}")
            await asyncio.sleep(interval)

    def wait_for_sync(self, predicate: Callable[[], T], timeout: float = 5, interval: float = 0.01) -> T:
        """Blocking :meth:`wait_for`, for the thread mode (it would freeze a server running in this loop)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and running is self._loop:
            raise RuntimeError("wait_for_sync would block the loop FakeSlack runs in; use `await wait_for(...)`")
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(f"condition not met within {timeout} s; {self._summary()}")
            time.sleep(interval)

    async def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5) -> list[Call]:  # noqa: ASYNC109
        """Wait until ``count`` successful calls of ``method`` were answered; returns them."""

        def enough() -> list[Call]:
            calls = self.ok_calls_to(method)
            return calls if len(calls) >= count else []

        return await self.wait_for(enough, timeout)

    def _summary(self) -> str:
        calls = self.calls
        shown = ", ".join(f"{c.method}->{c.status}{'' if c.ok else ' ' + str(c.error)}" for c in calls[-20:])
        return f"{len(calls)} calls [{shown}], {len(self.responses)} response_url posts"

    # ---------------------------------------------------------------------------------------------------- HTTP

    @staticmethod
    async def _read_args(request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.method != "POST" or not request.can_read_body:
            return args
        content_type = request.content_type
        raw = await request.read()
        if not raw:
            return args
        if content_type == "application/json":
            try:
                body = json.loads(raw.decode("utf-8"))
            except ValueError as exc:
                raise _ApiError("invalid_json") from exc
            if not isinstance(body, dict):
                raise _ApiError("invalid_json")
            args.update(body)
        elif content_type == "multipart/form-data":
            # Re-reading is fine: aiohttp caches the body.
            form = await request.post()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
        else:
            args.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        return args

    @staticmethod
    def _decode_json_fields(args: dict[str, Any]) -> None:
        for name in ("blocks", "attachments", "metadata"):
            value = args.get(name)
            if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
                try:
                    args[name] = json.loads(value)
                except ValueError as exc:
                    raise _ApiError(f"invalid_{name}") from exc

    async def _handle_api(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        method = request.match_info["method"]
        content_type = request.content_type if request.can_read_body else ""
        header = request.headers.get("Authorization", "")
        token = header[len("Bearer ") :].strip() if header.startswith("Bearer ") else None
        status = 200
        headers: dict[str, str] = {"x-oauth-scopes": ",".join(self.scopes)}
        args: dict[str, Any] = {}
        try:
            args = await self._read_args(request)
            body_token = args.pop("token", None)
            if token is None and isinstance(body_token, str) and body_token:
                token = body_token
            self._decode_json_fields(args)
            fault = self._take_fault(method)
            delay = self._take_delay(method)
            if delay:
                await asyncio.sleep(delay)
            if fault is not None:
                status = fault.status
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                raise _ApiError(fault.error)
            with self._lock:
                handler = self._methods.get(method) or self._extra.get(method)
            if handler is None:
                raise _ApiError("unknown_method", req_method=method)
            self._check_auth(token)
            result = handler(args)
            data = {"ok": True, **result}
        except _ApiError as exc:
            data = {"ok": False, "error": exc.error, **exc.extra}
        except (ValueError, UnicodeDecodeError):
            data = {"ok": False, "error": "invalid_form_data"}
        call = Call(
            method=method,
            args=args,
            at=arrived,
            status=status,
            ok=bool(data.get("ok")),
            error=data.get("error"),
            http_method=request.method,
            content_type=content_type,
            token=token,
            response=data,
        )
        with self._lock:
            self._calls.append(call)
        return web.json_response(data, status=status, headers=headers)

    async def _handle_response(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        token = request.match_info["token"]
        raw = await request.read()
        body: dict[str, Any]
        try:
            if request.content_type == "application/json":
                parsed = json.loads(raw.decode("utf-8")) if raw else {}
            else:
                form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
                parsed = json.loads(form["payload"]) if "payload" in form else form
            body = parsed if isinstance(parsed, dict) else {"_raw": parsed}
        except (ValueError, UnicodeDecodeError):
            body = {"_raw": raw.decode("utf-8", "replace")}
        if isinstance(body.get("blocks"), str):
            with contextlib.suppress(ValueError):
                body["blocks"] = json.loads(body["blocks"])

        fault = self._take_fault(RESPONSE_URL)
        delay = self._take_delay(RESPONSE_URL)
        if delay:
            await asyncio.sleep(delay)
        status = 200
        data: dict[str, Any] = {"ok": True}
        headers: dict[str, str] = {}
        with self._lock:
            if fault is not None:
                status, data = fault.status, {"ok": False, "error": fault.error}
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
            else:
                uses = self._response_uses.get(token, 0) + 1
                self._response_uses[token] = uses
                if uses > self.response_url_uses:
                    status, data = 404, {"ok": False, "error": "used_url"}
                elif "_raw" in body:
                    status, data = 400, {"ok": False, "error": "invalid_payload"}
                else:
                    self._apply_response(token, body)
            self._responses.append(
                {
                    "token": token,
                    "body": body,
                    "response_type": body.get("response_type"),
                    "replace_original": body.get("replace_original"),
                    "delete_original": body.get("delete_original"),
                    "text": body.get("text"),
                    "blocks": body.get("blocks"),
                    "thread_ts": body.get("thread_ts"),
                    "status": status,
                    "at": arrived,
                }
            )
        return web.json_response(data, status=status, headers=headers)

    def _apply_response(self, token: str, body: dict[str, Any]) -> None:
        key = self._response_bindings.get(token)
        if key is None or key not in self._messages:
            return
        if _truthy(body.get("delete_original")):
            del self._messages[key]
        elif _truthy(body.get("replace_original")):
            message = dict(self._messages[key])
            message["text"] = _clip(str(body.get("text", "")))
            if "blocks" in body:
                message["blocks"] = body["blocks"]
            else:
                message.pop("blocks", None)
            message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
            self._messages[key] = message
            self._versions.setdefault(key, []).append(message)

    # ---------------------------------------------------------------------------------------------------- helpers

    def _check_auth(self, token: str | None) -> None:
        if not token:
            raise _ApiError("not_authed")
        if self.token is not None:
            if token != self.token:
                raise _ApiError("invalid_auth")
        elif not token.startswith(("xoxb-", "xoxp-")):
            raise _ApiError("invalid_auth")

    def _next_ts(self) -> str:
        with self._lock:
            micros = next(self._ts)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _channel(self, value: Any) -> tuple[str, dict[str, Any]]:
        if not isinstance(value, str) or not value:
            raise _ApiError("channel_not_found")
        with self._lock:
            if value.startswith("#"):
                name = value[1:]
                for cid, known in self._channels.items():
                    if known.get("name") == name:
                        return self._channel(cid)
                raise _ApiError("channel_not_found")
            found = self._channels.get(value)
        if found is None:
            if not value.startswith(("C", "G", "D")):
                raise _ApiError("channel_not_found")
            found = {"name": value.lower()}
        info: dict[str, Any] = {"is_private": False, "is_member": True, **found}
        if info["is_private"] and not info["is_member"]:
            raise _ApiError("channel_not_found")
        return value, info

    def _blocks_and_text(self, args: dict[str, Any], *, required: bool) -> tuple[list[Any] | None, str | None]:
        blocks = args.get("blocks")
        text = args.get("text")
        if blocks in ("", None):
            blocks = None
        if blocks is not None and self.validate_blocks:
            errors = block_errors(blocks)
            if errors:
                raise _ApiError("invalid_blocks", errors=errors, response_metadata={"messages": errors})
        has_attachments = bool(args.get("attachments"))
        if required and not text and blocks is None and not has_attachments:
            raise _ApiError("no_text")
        return blocks, (None if text is None else _clip(str(text)))

    def _message_key(self, channel: str, ts: Any) -> tuple[str, str]:
        if not isinstance(ts, str) or (channel, ts) not in self._messages:
            raise _ApiError("message_not_found")
        return channel, ts

    # ---------------------------------------------------------------------------------------------------- methods

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://example.slack.com/",
            "team": self.team,
            "user": "jobbot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, _ = self._channel(args.get("channel"))
        blocks, text = self._blocks_and_text(args, required=True)
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "ts": ts,
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "text": text or "",
        }
        if blocks is not None:
            message["blocks"] = blocks
        if args.get("attachments"):
            message["attachments"] = args["attachments"]
        thread_ts = args.get("thread_ts")
        with self._lock:
            if isinstance(thread_ts, str) and thread_ts:
                message["thread_ts"] = thread_ts
                self._threads.setdefault((channel, thread_ts), []).append(ts)
                parent = self._messages.get((channel, thread_ts))
                if parent is not None:
                    parent = {**parent, "thread_ts": thread_ts}
                    parent["reply_count"] = int(parent.get("reply_count", 0)) + 1
                    self._messages[(channel, thread_ts)] = parent
            self._messages[(channel, ts)] = message
            self._versions[(channel, ts)] = [message]
        return {"channel": channel, "ts": ts, "message": {k: v for k, v in message.items() if k != "channel"}}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, _ = self._channel(args.get("channel"))
        blocks, text = self._blocks_and_text(args, required=False)
        with self._lock:
            key = self._message_key(channel, args.get("ts"))
            message = dict(self._messages[key])
            if text is not None:
                message["text"] = text
            if blocks is not None:
                message["blocks"] = blocks
            if args.get("attachments") is not None:
                message["attachments"] = args["attachments"]
            message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
            self._messages[key] = message
            self._versions.setdefault(key, []).append(message)
        return {
            "channel": channel,
            "ts": key[1],
            "text": message["text"],
            "message": {k: v for k, v in message.items() if k != "channel"},
        }

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, _ = self._channel(args.get("channel"))
        user = args.get("user")
        if not isinstance(user, str) or not user:
            raise _ApiError("user_not_found")
        blocks, text = self._blocks_and_text(args, required=True)
        ts = self._next_ts()
        record: dict[str, Any] = {"channel": channel, "user": user, "message_ts": ts, "text": text or ""}
        if blocks is not None:
            record["blocks"] = blocks
        if args.get("thread_ts"):
            record["thread_ts"] = args["thread_ts"]
        with self._lock:
            self._ephemerals.append(record)
        return {"message_ts": ts}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, _ = self._channel(args.get("channel"))
        with self._lock:
            key = self._message_key(channel, args.get("message_ts"))
            message = self._messages[key]
        link = f"https://example.slack.com/archives/{channel}/p{key[1].replace('.', '')}"
        if message.get("thread_ts") and message["thread_ts"] != key[1]:
            link += f"?thread_ts={message['thread_ts']}&cid={channel}"
        return {"channel": channel, "permalink": link}

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, info = self._channel(args.get("channel"))
        private = bool(info["is_private"])
        return {
            "channel": {
                "id": channel,
                "name": info["name"],
                "name_normalized": info["name"],
                "is_channel": not private and not channel.startswith("D"),
                "is_group": private,
                "is_im": channel.startswith("D"),
                "is_private": private,
                "is_archived": bool(info.get("is_archived", False)),
                "is_member": bool(info["is_member"]),
                "created": 1_700_000_000,
                "context_team_id": self.team_id,
                **{k: v for k, v in info.items() if k not in {"name", "is_private", "is_member"}},
            }
        }

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = args.get("user")
        if not isinstance(user_id, str) or not user_id:
            raise _ApiError("user_not_found")
        with self._lock:
            extra = self._users.get(user_id)
        if extra is None:
            if not user_id.startswith(("U", "W")):
                raise _ApiError("user_not_found")
            extra = {}
        name = str(extra.get("name", user_id.lower()))
        real_name = str(extra.get("real_name", name))
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": real_name,
            "deleted": False,
            "is_bot": user_id == self.bot_user_id,
            "tz": "Etc/UTC",
            "profile": {"real_name": real_name, "display_name": name, "email": f"{name}@example.com"},
        }
        user.update({k: v for k, v in extra.items() if k not in {"name", "real_name"}})
        return {"user": user}

    def _needs_scope(self, scope: str) -> None:
        if scope not in self.scopes:
            raise _ApiError("missing_scope", needed=scope, provided=",".join(self.scopes))

    def _files_get_upload_url_external(self, args: dict[str, Any]) -> dict[str, Any]:
        """Step 1 of an upload: a one-use URL on this server for ``length`` bytes of ``filename``."""
        self._needs_scope("files:write")
        filename, length = args.get("filename"), str(args.get("length") or "")
        if not isinstance(filename, str) or not filename or not length.isdigit() or int(length) < 1:
            raise _ApiError("invalid_arguments")
        file_id = f"F{next(self._file_ids):010d}"
        with self._lock:
            self._uploads[file_id] = {"filename": filename, "length": int(length), "content": None}
        return {"upload_url": f"{self.base_url}/upload/v1/{file_id}", "file_id": file_id}

    async def _handle_upload(self, request: web.Request) -> web.Response:
        """Step 2: the file's bytes posted to the URL of step 1 (Slack answers plain text, not JSON)."""
        file_id = request.match_info["file_id"]
        raw = await request.read()
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None or upload["content"] is not None:
                return web.Response(status=404, text="Not Found")
            if len(raw) != upload["length"]:
                return web.Response(status=400, text=f"length {len(raw)} is not the {upload['length']} announced")
            upload["content"] = raw
        return web.Response(status=200, text=f"OK - {len(raw)}")

    def _files_complete_upload_external(self, args: dict[str, Any]) -> dict[str, Any]:
        """Step 3: finish the uploads named in ``files`` and share them in ``channel_id`` (``thread_ts``)."""
        self._needs_scope("files:write")
        try:
            wanted = json.loads(str(args.get("files") or ""))
        except ValueError as exc:
            raise _ApiError("invalid_arguments") from exc
        if not isinstance(wanted, list) or not wanted or not all(isinstance(f, dict) and f.get("id") for f in wanted):
            raise _ApiError("invalid_arguments")
        channel = args.get("channel_id")
        if channel:
            channel, _ = self._channel(channel)
        thread_ts = args.get("thread_ts") or None
        done: list[dict[str, Any]] = []
        with self._lock:
            for item in wanted:
                upload = self._uploads.get(str(item["id"]))
                if upload is None or upload["content"] is None:
                    raise _ApiError("file_not_found")
            if channel and thread_ts is not None and (channel, thread_ts) not in self._messages:
                raise _ApiError("invalid_thread_ts")
            for item in wanted:
                upload = self._uploads.pop(str(item["id"]))
                done.append({"id": str(item["id"]), "name": upload["filename"],
                             "title": str(item.get("title") or upload["filename"]), "size": upload["length"],
                             "content": upload["content"], "channel": channel or None, "thread_ts": thread_ts,
                             "initial_comment": args.get("initial_comment") or None})
            self._files += done
        if channel:  # shared: a message carrying the files, in the thread when asked
            posted = self._chat_post_message({"channel": channel, "thread_ts": thread_ts,
                                              "text": args.get("initial_comment") or done[0]["name"]})
            with self._lock:
                key = (channel, posted["ts"])
                self._messages[key] = {**self._messages[key], "upload": True,
                                       "files": [{k: f[k] for k in ("id", "name", "title", "size")} for f in done]}
        return {"files": [{"id": f["id"], "title": f["title"], "name": f["name"], "size": f["size"]} for f in done]}

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        usergroup = args.get("usergroup")
        with self._lock:
            users = self._usergroups.get(usergroup) if isinstance(usergroup, str) else None
            if users is None:
                raise _ApiError("no_such_subteam")
            return {"users": list(users)}

    def _reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, _ = self._channel(args.get("channel"))
        name = args.get("name")
        if not isinstance(name, str) or not name:
            raise _ApiError("invalid_name")
        name = name.strip(":")
        with self._lock:
            key = self._message_key(channel, args.get("timestamp"))
            message = dict(self._messages[key])
            reactions = [dict(r) for r in message.get("reactions", [])]
            for reaction in reactions:
                if reaction["name"] == name:
                    if self.bot_user_id in reaction["users"]:
                        raise _ApiError("already_reacted")
                    reaction["users"] = [*reaction["users"], self.bot_user_id]
                    reaction["count"] += 1
                    break
            else:
                reactions.append({"name": name, "users": [self.bot_user_id], "count": 1})
            message["reactions"] = reactions
            self._messages[key] = message
        return {}


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in {"true", "1", "yes"}
    return bool(value)


def _clip(text: str) -> str:
    return text[:MAX_TEXT]
