"""Links from a Slack message into the Azure portal: the job itself, and a canned query in Log Analytics.

Pure string functions: no I/O, no clock. Every URL returned is at most `URL_MAX` characters (Slack's
limit for a button `url`); a link that would be longer is not built (`None`), never cut.
"""

from __future__ import annotations

import base64
import gzip
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

# The longest link chat clients keep whole (Slack's limit for a button `url`; tests/test_blocks.py pins that
# the two agree). Kept here so building a link does not depend on the Slack adapter.
URL_MAX = 3000

__all__ = ["encode_query", "iso_duration", "iso_interval", "log_analytics_url", "portal_url"]

PORTAL = "https://portal.azure.com"

# The Log Analytics "Logs" blade, opened with a query in it. The shape is the one the portal itself
# produces with "Share > Copy link to query", and which Microsoft Learn's own "Run the query" links
# use:
#   https://portal.azure.com/#blade/Microsoft_Azure_Monitoring_Logs/LogsBlade/resourceId/<id>
#       /source/LogsBlade.AnalyticsShareLinkToQuery/q/<query>/timespan/<timespan>
# where <id> is the URL-encoded workspace resource id and <query> is the query text gzip-compressed,
# base64-encoded and URL-encoded (confirmed against mdowst's Encode-LogAnalyticsQuery gist, which
# gzips then base64s then URL-encodes, and against portal-generated links found in public repos and in
# learn.microsoft.com pages, e.g. ".../q/H4sIAAAAAAAAA%252FNx...%253D%253D/timespan/P1D").
# The portal's own links encode the base64 text twice ("/" -> "%2F" -> "%252F", "=" -> "%253D"): the
# portal decodes the hash route and then the segment, so the doubly encoded form is the one it is known
# to read back unchanged (a singly encoded one also works because base64 never contains "%"); we
# follow the portal. <timespan> is an ISO 8601 duration ("PT1H", "P1D") or an interval
# ("<start>/<end>"), URL-encoded.
LOGS_BLADE = f"{PORTAL}/#blade/Microsoft_Azure_Monitoring_Logs/LogsBlade"
SHARE_SOURCE = "LogsBlade.AnalyticsShareLinkToQuery"


def portal_url(resource_id: str) -> str:
    """The overview page of an Azure resource (`/subscriptions/…/jobs/<name>`) in the portal."""
    rid = resource_id.strip()
    if not rid.startswith("/"):
        rid = "/" + rid
    # Resource ids are ASCII path segments; quote anything else so the link stays one URL.
    return f"{PORTAL}/#@/resource{quote(rid, safe='/-_.~')}/overview"


def encode_query(query_text: str) -> str:
    """Query text as the portal's `q` segment: gzip, base64, URL-encoded twice (see the module notes)."""
    # mtime=0 keeps the link stable for the same query (gzip otherwise stamps the current time).
    packed = base64.b64encode(gzip.compress(query_text.encode("utf-8"), mtime=0)).decode("ascii")
    return quote(quote(packed, safe=""), safe="")


def log_analytics_url(workspace_id: str | None, query_text: str, *, timespan: str) -> str | None:
    """A link that opens `query_text` in the Logs blade of the workspace, over `timespan`.

    `workspace_id` is the workspace's ARM resource id (`/subscriptions/…/workspaces/<name>`), not its
    customer GUID: the blade is addressed by resource. Returns None without a usable workspace id, for
    an empty query, or when the link would exceed `URL_MAX` characters (a long query compresses, but
    not without bound).
    """
    if not workspace_id or not workspace_id.strip().lower().startswith("/subscriptions/"):
        return None
    if not query_text.strip():
        return None
    url = (f"{LOGS_BLADE}/resourceId/{quote(workspace_id.strip(), safe='')}/source/{SHARE_SOURCE}"
           f"/q/{encode_query(query_text)}/timespan/{quote(timespan, safe='')}")
    return url if len(url) <= URL_MAX else None


def iso_duration(length: timedelta) -> str:
    """A non-negative timedelta as an ISO 8601 duration: 1 h -> 'PT1H', 1 d -> 'P1D', 90 s -> 'PT1M30S'."""
    seconds = max(0, int(length.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    if not days and not time:
        return "PT0S"
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")


def iso_interval(start: datetime, end: datetime) -> str:
    """A fixed window as an ISO 8601 interval, '2026-11-28T09:00:00.000Z/2026-11-28T10:00:00.000Z'.

    A link to a past incident should show that window, not "the last hour" of whenever it is opened.
    Naive datetimes are taken as UTC, as everywhere in jobbot.
    """
    return f"{_utc(start)}/{_utc(end)}"


def _utc(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

