"""The demo is judged on what each world concludes, so every read it makes — the triage's and, for a review
scenario, the review's — gets the demo's patient deadline, not the 4 s meant for Azure: on a loaded machine a
review read past 4 s would be scored as unknown and the demo would report a world that did not conclude."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import bot.demo as demo
from bot.config import Config

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "review-costly.yaml"


def test_the_demo_gives_the_triage_and_the_review_the_same_patient_deadline(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: dict[str, float] = {}

    def watching(name: str, real: Any) -> Any:
        def call(job: Any, window: Any, config: Config, **kwargs: Any) -> Any:
            seen[name] = config.check_deadline_s
            return real(job, window, config, **kwargs)
        return call

    monkeypatch.setattr(demo, "triage_once", watching("triage", demo.triage_once))
    monkeypatch.setattr(demo, "review_once", watching("review", demo.review_once))
    assert demo.run_demo([str(SCENARIO)]) == 0
    assert "1 of 1 scenarios concluded as expected." in capsys.readouterr().out
    assert seen == {"triage": demo.DEMO_CONFIG.check_deadline_s, "review": demo.DEMO_CONFIG.check_deadline_s}
    assert demo.DEMO_CONFIG.check_deadline_s > Config().check_deadline_s
