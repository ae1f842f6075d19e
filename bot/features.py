"""The built-in features of `jobbot serve`, listed in one place (as datasette's plugins.py lists its own).

Each is registered exactly like an extension would be, through `bot.feature_api`, so the server's
composition root stays small.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.alerts.feature import build as alerts
from bot.checklists.feature import build as checklists
from bot.feature_api import Endpoint as Endpoint
from bot.feature_api import FeatureFactory
from bot.feature_api import HttpRoute as HttpRoute
from bot.feature_api import Services as Services
from bot.packs.feature import build as evidence_packs
from bot.reviews.feature import build as reviews
from bot.status.feature import build as status_board

# Routes are fixed when the app is created; the feature behind each is built at start-up.
ROUTES: tuple[HttpRoute, ...] = (
    HttpRoute("/alerts/azure-monitor", ("POST",), "alerts.azure_monitor"),
)


def feature_factories() -> Sequence[FeatureFactory]:
    """The built-in features, in start order."""
    return (checklists, alerts, reviews, evidence_packs, status_board)
