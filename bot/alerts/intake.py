"""`POST /alerts/azure-monitor`: the action-group webhook. Refuse what is not ours, store what is, answer.

    401  no token, or the wrong one (`?token=` or the `X-Jobbot-Token` header, compared in constant time);
         audited once a minute at most, with the count of those not recorded one by one
    413  body over 256 KB (by Content-Length, and again while reading)
    400  body is not JSON (or is nested deeper than MAX_DEPTH, or holds text no store can keep)
    422  JSON, but not a common-schema alert (unknown `schemaId`, no alertId …)
    503  the store could not take it: Azure retries 503, so the alert is not lost
    202  stored durably; processing happens in the background

Azure retries on 408/429/503/504 (not on 500) for about a minute, then skips the endpoint for 15 minutes,
so the answer must come fast: the delivery joins the next commit (`inbox`), then 202; background work
gives way meanwhile (`pressure`). Every refusal is audited (without the token); an
accepted delivery is audited when it has been processed. The token is never logged: not by this module,
and not by uvicorn's access log, which would print the query string (see `AccessLogRedaction`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from bot.alerts.pressure import IntakeLoad
from bot.alerts.schema import InvalidAlert, UnknownSchema, parse_alert
from bot.boundary import LogRedaction
from bot.telemetry.metrics import ALERT_INTAKE_SECONDS, WEBHOOK_ANSWERS

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024
MAX_DEPTH = 32
FAILED_AUTH_WINDOW_S = 60.0
TOKEN_HEADER = "x-jobbot-token"
TOKEN_PARAM = "token"

Accept = Callable[[dict[str, Any]], Awaitable[str]]
Audit = Callable[..., Awaitable[None]]


class Webhook:
    def __init__(self, *, token: str, accept: Accept, audit: Audit,
                 monotonic: Callable[[], float] = time.monotonic, load: IntakeLoad | None = None) -> None:
        self._load = load or IntakeLoad()
        self._token = token.encode()
        self._accept = accept
        self._audit = audit
        self._monotonic = monotonic
        self._failed_window = -FAILED_AUTH_WINDOW_S  # start of the current failed-auth window
        self._failed_unrecorded = 0

    async def __call__(self, request: Request) -> Response:
        started = time.monotonic()
        response = await self._answer(request, started)
        ALERT_INTAKE_SECONDS.observe(time.monotonic() - started)
        WEBHOOK_ANSWERS.labels(str(response.status_code)).inc()
        return response

    async def _answer(self, request: Request, started: float) -> Response:
        if not self._authorized(request):
            return await self._unauthorized(started)  # a flood without the token holds nothing back
        with self._load.answer():  # the background work gives way meanwhile
            return await self._take(request, started)

    async def _take(self, request: Request, started: float) -> Response:
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY:
            return await self._refuse(413, "too large", f"Content-Length {length}", started)
        try:
            body = await _read(request)
        except _TooLarge:
            return await self._refuse(413, "too large", f"body over {MAX_BODY} bytes", started)
        except ClientDisconnect:
            return Response(status_code=400)
        try:
            decoded = json.loads(body, parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError, RecursionError) as error:
            return await self._refuse(400, "malformed JSON", type(error).__name__, started)
        if _depth_over(decoded, MAX_DEPTH):  # the common schema is a few levels deep; code below recurses
            return await self._refuse(400, "malformed JSON", f"nested deeper than {MAX_DEPTH}", started)
        if not _encodable(decoded):  # a lone surrogate (`"\ud800"`) is valid JSON but no store can keep it
            return await self._refuse(400, "malformed JSON", "text that is not valid Unicode", started)
        try:
            alert = parse_alert(decoded)
        except UnknownSchema as error:
            return await self._refuse(422, "unknown schema", str(error), started)
        except InvalidAlert as error:
            return await self._refuse(422, "invalid alert", str(error), started)
        try:
            # PostgreSQL's JSON cannot hold NUL characters; nothing an alert says needs them.
            delivery = await self._accept(_without_nul(decoded))
        except Exception as error:
            log.exception("could not store an alert delivery", extra={"alert": alert.alert_id})
            await self._audit_refusal("store unavailable", type(error).__name__, "error", started)
            return JSONResponse({"error": "could not store the alert, retry"}, status_code=503)
        return JSONResponse({"status": "accepted", "alertId": alert.alert_id, "delivery": delivery},
                            status_code=202)

    def _authorized(self, request: Request) -> bool:
        given = request.headers.get(TOKEN_HEADER) or request.query_params.get(TOKEN_PARAM) or ""
        # compare_digest's time depends on the lengths compared; digests of both make them equal, so the
        # answer time tells nothing about the token, not even its length.
        match = hmac.compare_digest(hashlib.sha256(given.encode()).digest(), hashlib.sha256(self._token).digest())
        return bool(self._token) and match

    async def _unauthorized(self, started: float) -> Response:
        """A 401, audited and logged at most once per window with the count of those it stands for:
        a flood of bad tokens costs one row a minute, not one row a request."""
        now = self._monotonic()
        if now - self._failed_window < FAILED_AUTH_WINDOW_S:
            self._failed_unrecorded += 1
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        earlier, self._failed_unrecorded, self._failed_window = self._failed_unrecorded, 0, now
        detail = "missing or wrong token" + (f" (and {earlier} more in the previous window)" if earlier else "")
        return await self._refuse(401, "unauthorized", detail, started)

    async def _refuse(self, status: int, error: str, detail: str, started: float) -> Response:
        log.info("alert webhook refused a request: %s (%s)", error, status)
        await self._audit_refusal(error, detail, "refused", started)
        return JSONResponse({"error": error}, status_code=status)

    async def _audit_refusal(self, error: str, detail: str, outcome: str, started: float) -> None:
        await self._audit(actor="alert:webhook", channel=None, action="alert:delivery", target=None,
                          detail=f"{error}: {detail}"[:500], outcome=outcome,
                          duration_ms=int((time.monotonic() - started) * 1000))


class _TooLarge(Exception):
    pass


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON (Python's parser allows them; PostgreSQL's JSON does not)."""
    raise ValueError(f"{name} is not JSON")


async def _read(request: Request) -> bytes:
    """The body, refused as soon as it passes MAX_BODY (a missing or false Content-Length changes nothing)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _depth_over(value: Any, limit: int) -> bool:
    """Whether `value` nests deeper than `limit` (walked without recursion, so any depth is safe)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack += [(v, depth + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in item]
    return False


def _encodable(value: Any) -> bool:
    """Whether every key and string in `value` encodes as UTF-8 (walked without recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        texts: list[Any] = [item] if isinstance(item, str) else []
        if isinstance(item, dict):
            texts += list(item)
            stack += list(item.values())
        elif isinstance(item, list):
            stack += item
        for text in texts:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


# uvicorn's access log prints the request line, whose query string may carry `?token=…` (Azure's plain
# webhook can only send its secret in the URL): the boundary's log filter masks it like any secret.
AccessLogRedaction = LogRedaction
