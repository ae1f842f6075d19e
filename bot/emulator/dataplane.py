"""The Storage queue data plane, path-style like Azurite: `https://127.0.0.1:PORT/<account>/<queue>`.

Only the queue-properties read answers (`GET /{account}/{queue}?comp=metadata`, which is what
`QueueClient.get_queue_properties()` sends): its `x-ms-approximate-messages-count` header carries the
scenario's depth. Reading messages (`/{account}/{queue}/messages`, peek included) is refused with 405:
message bodies are payload, and jobbot only ever needs the count.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from email.utils import formatdate
from xml.sax.saxutils import escape

from aiohttp import web

from bot.emulator.scenario import Scenario

DEFAULT_VERSION = "2025-01-05"


def storage_headers(request_version: str | None = None) -> dict[str, str]:
    return {
        "x-ms-request-id": str(uuid.uuid4()),
        "x-ms-version": request_version or DEFAULT_VERSION,
        "Date": formatdate(usegmt=True),
        "Server": "Windows-Azure-Queue/1.0 Microsoft-HTTPAPI/2.0",
    }


def storage_error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    """Storage's XML error body, with the `x-ms-error-code` header the SDK maps errors from."""
    base = storage_headers()
    stamp = formatdate(usegmt=True)
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}\n"
        f"RequestId:{base['x-ms-request-id']}\nTime:{stamp}</Message></Error>"
    )
    base["x-ms-error-code"] = code
    base.update(headers or {})
    return web.Response(status=status, text=body, content_type="application/xml", headers=base)


class QueueStore:
    """The Storage queues (`azure-queue` entries) of one scenario."""

    def __init__(self, scenario: Scenario) -> None:
        self.depths = {(q.account.lower(), q.name.lower()): q.depth for q in scenario.queues if q.type == "azure-queue"}
        self.accounts = {account for account, _ in self.depths}

    def handle(self, request: web.Request, path: str) -> web.Response:
        parts = path.strip("/").split("/")
        if len(parts) >= 3 and parts[2].lower() == "messages":
            return storage_error(
                405,
                "UnsupportedHttpVerb",
                "The jobbot emulator serves queue properties only: reading messages is not allowed.",
                headers={"Allow": ""},
            )
        if len(parts) != 2 or request.query.get("comp") != "metadata":
            return storage_error(404, "ResourceNotFound", "The specified resource does not exist.")
        depth = self.depths.get((parts[0].lower(), parts[1].lower()))
        if depth is None:
            return storage_error(404, "QueueNotFound", "The specified queue does not exist.")
        headers = storage_headers(request.headers.get("x-ms-version"))
        headers["x-ms-approximate-messages-count"] = str(depth)
        return web.Response(status=200, headers=headers)
