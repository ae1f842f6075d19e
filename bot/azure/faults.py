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
from bot.telemetry.metrics import UPSTREAM_CALLS
from bot.telemetry.tracing import span


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
    """Run SDK calls; any Azure error leaves as UpstreamError naming the service and the reason.

    Each call is one span and one count by outcome (`ok`, an HTTP status, `not-found`, `no-answer`, …)."""
    api = _SLUGS.get(service, service.lower().replace(" ", "-"))
    outcome = "ok"
    with span(f"upstream {service}", api=api) as current:
        try:
            yield
        except ResourceNotFoundError:
            outcome = "not-found"
            raise
        except AzureError as error:
            outcome = _outcome(error)
            current.set_attribute("outcome", outcome)
            raise UpstreamError(reason(error, service)) from error
        except BaseException:
            outcome = "cancelled"
            raise
        finally:
            UPSTREAM_CALLS.labels(api, outcome).inc()


_SLUGS = {"Azure Resource Manager": "arm", "Log Analytics": "log-analytics", "Azure Monitor metrics": "metrics",
          "Resource Graph": "resource-graph", "Azure Storage queues": "storage-queue",
          "Azure Service Bus (ARM)": "service-bus"}


def _outcome(error: AzureError) -> str:
    if isinstance(error, HttpResponseError) and error.status_code is not None:
        return str(error.status_code)
    if isinstance(error, ServiceRequestError):
        return "no-connection"
    if isinstance(error, ServiceResponseError):
        return "no-answer"
    if isinstance(error, ClientAuthenticationError):
        return "no-token"
    return "error"
