"""Prometheus metrics of the bot itself, in one registry served at `GET /metrics`.

Labels never carry a job name, a user or a channel: the metrics are safe to scrape from anywhere the health
routes are, and their cardinality stays fixed however many jobs there are.
"""

from __future__ import annotations

import re
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

# A triage waits on the slowest of its reads: seconds, from tens of milliseconds to the deadline and past it.
_DURATIONS = (0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 60)

TRIAGE_SECONDS = Histogram("jobbot_triage_duration_seconds", "Time to a triage report, by verdict cause.",
                           ["outcome"], buckets=_DURATIONS, registry=REGISTRY)
REVIEW_SECONDS = Histogram("jobbot_review_duration_seconds", "Time to a review report, by outcome.",
                           ["outcome"], buckets=_DURATIONS, registry=REGISTRY)
UPSTREAM_CALLS = Counter("jobbot_upstream_calls_total",
                         "Calls to Azure as the bot made them (retries inside one call count once), by outcome.",
                         ["api", "outcome"], registry=REGISTRY)
UPSTREAM_ATTEMPTS = Counter("jobbot_upstream_http_attempts_total",
                            "HTTP attempts to Azure including the SDK's retries, by HTTP status.",
                            ["api", "status"], registry=REGISTRY)
LIMITER_WAIT_SECONDS = Histogram("jobbot_limiter_wait_seconds",
                                 "Time a read waited in one of jobbot's own limiters (Log Analytics: 5 at once), "
                                 "by limiter and priority; 0 when a slot was free.", ["limiter", "priority"],
                                 buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30), registry=REGISTRY)
LIMITER_QUEUE = Gauge("jobbot_limiter_queue", "Reads waiting in one of jobbot's own limiters.", ["limiter"],
                      registry=REGISTRY)
ALERT_INTAKE_SECONDS = Histogram("jobbot_alert_intake_seconds", "Time to answer an alert webhook delivery.",
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
                                 registry=REGISTRY)
WEBHOOK_ANSWERS = Counter("jobbot_alert_webhook_answers_total",
                          "Answers of the alert webhook, by HTTP status (202 stored; 4xx refused; 503 retry).",
                          ["status"], registry=REGISTRY)
ALERT_DELIVERIES = Counter("jobbot_alert_deliveries_total",
                           "Stored alert deliveries processed, by what they did (opened, joined, duplicate, "
                           "resolved …).", ["outcome"], registry=REGISTRY)
ALERT_ESCALATIONS = Counter("jobbot_alert_escalations_total", "Escalations sent to the next tier.",
                            registry=REGISTRY)
ALERT_WORK_QUEUE = Gauge("jobbot_alert_work_queue", "Alert work due and not taken by any replica (measured "
                         "when a worker is full; 0 when it took everything due).", registry=REGISTRY)
ALERT_WORK_IN_FLIGHT = Gauge("jobbot_alert_work_in_flight", "Alert work items this replica is handling now "
                             "(deliveries, thread updates, escalations).", registry=REGISTRY)
CALLS_TO_SLACK = Counter("jobbot_slack_api_calls_total", "Slack Web API calls, by method and result.",
                      ["method", "status"], registry=REGISTRY)


def exposition() -> tuple[bytes, str]:
    """The registry in Prometheus text format, with its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


_API_BY_PATH = (
    (re.compile(r"^/v1/workspaces/", re.IGNORECASE), "log-analytics"),
    (re.compile(r"/providers/microsoft\.resourcegraph/", re.IGNORECASE), "resource-graph"),
    (re.compile(r"/providers/microsoft\.", re.IGNORECASE), "arm"),
    (re.compile(r"^/subscriptions(/|$)", re.IGNORECASE), "arm"),
)


def api_of(path: str) -> str:
    """Which Azure API a request path belongs to (a queue data-plane path is anything else)."""
    return next((api for pattern, api in _API_BY_PATH if pattern.search(path)), "storage-queue")


def count_attempt(response: Any) -> None:
    """azure-core `raw_response_hook`: runs after every HTTP attempt, retries included."""
    try:
        request = response.http_request
        path = request.url.split("://", 1)[-1].split("/", 1)[-1]
        UPSTREAM_ATTEMPTS.labels(api_of("/" + path.split("?", 1)[0]), str(response.http_response.status_code)).inc()
    except Exception:  # telemetry never breaks a read
        return
