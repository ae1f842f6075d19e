"""OpenTelemetry traces of a triage: one span for the triage, one per check, one per upstream call.

Off unless the standard `OTEL_*` variables ask for traces (`OTEL_EXPORTER_OTLP_ENDPOINT`,
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_TRACES_EXPORTER`); `OTEL_SDK_DISABLED=true` or
`OTEL_TRACES_EXPORTER=none` keeps them off. Until then the API's tracer is a no-op and costs nothing.
Exporters: `otlp` (HTTP/protobuf, the default), `console`, and `azure_monitor` with the optional extra
`jobbot[azure-monitor]` (reads `APPLICATIONINSIGHTS_CONNECTION_STRING`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace

from bot.errors import ConfigError

TRACER = trace.get_tracer("jobbot")
_ASKS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER")


@contextmanager
def span(name: str, **attributes: str | int | float | bool) -> Iterator[Any]:
    with TRACER.start_as_current_span(name, attributes=attributes) as current:
        yield current


def tracing_wanted(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true" or env.get("OTEL_TRACES_EXPORTER", "") == "none":
        return False
    return any(env.get(name) for name in _ASKS)


def configure_tracing(environ: Mapping[str, str] | None = None) -> Callable[[], None] | None:
    """Install a tracer provider with the exporter the environment names; returns its shutdown (flush), or
    None when traces are off. Raises ConfigError for an exporter jobbot does not know or cannot load."""
    env = os.environ if environ is None else environ
    if not tracing_wanted(env):
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": env.get("OTEL_SERVICE_NAME", "jobbot")}))
    provider.add_span_processor(BatchSpanProcessor(_exporter(env.get("OTEL_TRACES_EXPORTER") or "otlp")))
    trace.set_tracer_provider(provider)
    return provider.shutdown


def _exporter(name: str) -> Any:
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if name == "azure_monitor":
        try:
            from azure.monitor.opentelemetry.exporter import AzureMonitorTraceExporter
        except ImportError as missing:
            raise ConfigError(["OTEL_TRACES_EXPORTER=azure_monitor needs pip install 'jobbot[azure-monitor]'"]) \
                from missing
        return AzureMonitorTraceExporter()
    raise ConfigError([f"OTEL_TRACES_EXPORTER: {name!r} is not one of otlp, console, azure_monitor, none"])
