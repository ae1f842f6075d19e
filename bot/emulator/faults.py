"""Injected upstream faults: which request a scenario's `faults[]` entry applies to, and its answer.

A fault matches a request when its target is the request's target ("queue" covers Service Bus ARM
reads and the Storage data plane) and its `path` is a substring of the request path (compared
lower-cased, as ARM paths are case-insensitive; "/" matches everything). The first matching fault
that still has `times` left applies, and only it counts the request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Literal

from aiohttp import web

from bot.emulator.arm import arm_error
from bot.emulator.dataplane import storage_error
from bot.emulator.logs import logs_error
from bot.emulator.scenario import FaultSpec

#: The shape of an error body: ARM JSON, Log Analytics JSON or Storage XML.
ErrorShape = Literal["arm", "logs", "storage"]

_ARM_CODES = {
    400: "BadRequest",
    401: "AuthenticationFailed",
    403: "AuthorizationFailed",
    404: "ResourceNotFound",
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
_LOGS_CODES = {
    400: "BadArgumentError",
    401: "AuthorizationRequiredError",
    403: "InsufficientAccessError",
    404: "PathNotFoundError",
    429: "ThrottledError",
    500: "InternalServerError",
    502: "BadGatewayError",
    503: "ServiceUnavailableError",
    504: "GatewayTimeout",
}
_STORAGE_CODES = {
    400: "InvalidInput",
    403: "AuthorizationFailure",
    404: "ResourceNotFound",
    429: "ServerBusy",
    500: "InternalError",
    503: "ServerBusy",
    504: "OperationTimedOut",
}


class FaultPlan:
    """The faults of one loaded scenario and how many requests each may still affect."""

    def __init__(self, faults: Sequence[FaultSpec]) -> None:
        self._faults = tuple(faults)
        self._remaining: list[int | None] = [fault.times for fault in self._faults]

    def take(self, target: str, path: str) -> FaultSpec | None:
        """The fault that applies to this request, counting it; None when no fault applies."""
        lowered = path.lower()
        for index, fault in enumerate(self._faults):
            remaining = self._remaining[index]
            if fault.target != target or remaining == 0 or fault.path.lower() not in lowered:
                continue
            if remaining is not None:
                self._remaining[index] = remaining - 1
            return fault
        return None


async def apply_fault(fault: FaultSpec, request: web.Request, shape: ErrorShape) -> web.Response | None:
    """Wait out the latency, then answer the error (or drop the connection).

    Returns None when the request should go on to its normal answer (latency-only or partial
    faults). Raises `ConnectionDropped` after closing the connection for a `drop` fault.
    """
    if fault.latency_ms:
        await asyncio.sleep(fault.latency_ms / 1000)
    if fault.drop:
        if request.transport is not None:
            request.transport.close()
        raise ConnectionDropped
    if not fault.status:
        return None
    headers = {} if fault.retry_after is None else {"Retry-After": _seconds(fault.retry_after)}
    message = f"Injected fault: {fault.status} for {request.method} {request.path}."
    if shape == "logs":
        code = _LOGS_CODES.get(fault.status, _fallback(fault.status, "BadArgumentError"))
        return logs_error(fault.status, code, message, headers=headers)
    if shape == "storage":
        code = _STORAGE_CODES.get(fault.status, _fallback(fault.status, "InvalidInput"))
        return storage_error(fault.status, code, message, headers=headers)
    code = _ARM_CODES.get(fault.status, _fallback(fault.status, "BadRequest"))
    return arm_error(fault.status, code, message, headers=headers)


class ConnectionDropped(Exception):
    """The connection was closed on purpose; there is no response to send."""


def _fallback(status: int, client_error: str) -> str:
    return "InternalServerError" if status >= 500 else client_error


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
