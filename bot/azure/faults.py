"""Translate SDK exceptions into jobbot's UpstreamError, with a reason fit for the report."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from bot.errors import UpstreamError


def reason(error: AzureError, service: str) -> str:
    if isinstance(error, HttpResponseError) and error.status_code is not None:
        code = getattr(getattr(error, "error", None), "code", None) or error.reason or ""
        hint = {401: "not signed in", 403: "missing permission", 429: "throttled", 404: "not found"}.get(
            error.status_code, ""
        )
        detail = ", ".join(x for x in (str(code), hint) if x)
        return f"{service} answered HTTP {error.status_code}" + (f" ({detail})" if detail else "")
    if isinstance(error, ServiceRequestError):
        return f"could not connect to {service}"
    if isinstance(error, ServiceResponseError):
        return f"{service} closed the connection without answering"
    if isinstance(error, ClientAuthenticationError):
        return f"could not get a token for {service}"
    return f"{service} call failed ({type(error).__name__})"


@asynccontextmanager
async def upstream(service: str) -> AsyncIterator[None]:
    """Run SDK calls; any Azure error leaves as UpstreamError naming the service and the reason."""
    try:
        yield
    except ResourceNotFoundError:
        raise
    except AzureError as error:
        raise UpstreamError(reason(error, service)) from error
