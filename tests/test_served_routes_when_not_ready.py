"""The served app's answers when it cannot do what is asked yet: before start-up is done (a probe or an alert
arriving early gets a 503 that says so, never a 500), and with Slack off in scenario mode."""

from __future__ import annotations

from pathlib import Path

import httpx

from bot.config import Config
from bot.server import create_app
from bot.settings import Settings
from tests.support.served import served

ROOT = Path(__file__).resolve().parent.parent
HEALTHY = ROOT / "scenarios" / "healthy.yaml"


async def test_before_start_up_the_probes_and_feature_routes_say_not_yet() -> None:
    app = create_app(Settings(scenario=HEALTHY, alert_token="alert-token-6c1f0e2b9a"), Config())
    # No lifespan has run: the process is up, nothing behind it is.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://jobbot") as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
        assert (ready.status_code, ready.json()) == (503, {"status": "starting"})
        alert = await http.post("/alerts/azure-monitor", params={"token": "alert-token-6c1f0e2b9a"}, json={})
        assert (alert.status_code, alert.json()) == (503, {"error": "not available"})


def test_with_slack_off_the_slack_route_says_which_variables_are_missing(tmp_path: Path) -> None:
    settings = Settings(scenario=HEALTHY, database_url=f"sqlite:///{tmp_path / 'j.db'}")
    with served(create_app(settings, Config())) as url:
        answer = httpx.post(f"{url}/slack/events", content=b"command=%2Fjobbot&text=help", trust_env=False)
        assert answer.status_code == 503
        assert answer.json() == {"error": "Slack is off: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set"}
        assert httpx.get(f"{url}/readyz", trust_env=False).json()["status"] == "ready"
