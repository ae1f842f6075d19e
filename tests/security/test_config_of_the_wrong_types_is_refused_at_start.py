"""Attack (a bad day): a jobbot.yaml with the wrong types. `post_console_excerpts: "false"` used to mean
true (console lines posted where the owners had said no), `user_groups: "S0OWN"` became a set of characters,
`owners: "team-x"` crashed a triage later. Each must be a start-up error naming its key path, all at once,
without a traceback."""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

import pytest
import yaml

from bot.cli import main
from bot.config import parse_config
from bot.errors import ConfigError

BAD = {
    "azure": {"subscriptions": "11111111-2222-3333-4444-555555555555", "check_deadline_s": "4"},
    "jobs": {
        "orders-processor": {"post_console_excerpts": "false", "owners": "team-orders"},
        "billing": {"owners": {"escalation": [{"who": "S0LEAD"}], "escalate_after_min": True}},
    },
    "access": {"commands": {"rollback": {"user_groups": "S0OWN"}}},
    "alerts": {"group_window_min": "30"},
}
PATHS = [
    "azure.subscriptions", "azure.check_deadline_s", "jobs.orders-processor.post_console_excerpts",
    "jobs.orders-processor.owners", "jobs.billing.owners.escalation.0", "jobs.billing.owners.escalate_after_min",
    "access.commands.rollback.user_groups", "alerts.group_window_min",
]


def test_every_wrong_type_is_named_by_its_key_path_all_at_once() -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(BAD, "jobbot.yaml")
    problems = refused.value.problems
    assert [p for p in PATHS if not any(f"jobbot.yaml: {p}:" in line for line in problems)] == []
    assert len(problems) == len(PATHS), problems


@pytest.mark.parametrize("text", ["false", "no", "0", "off"])
def test_a_quoted_false_never_turns_console_excerpts_on(text: str) -> None:
    with pytest.raises(ConfigError, match="post_console_excerpts"):
        parse_config({"jobs": {"a": {"post_console_excerpts": text}}})
    assert parse_config({"jobs": {"a": {"post_console_excerpts": False}}}).job("a").post_console_excerpts is False  # type: ignore[union-attr]


def test_a_good_file_still_loads_with_empty_sections() -> None:
    config = parse_config(yaml.safe_load("azure:\nslack:\njobs:\n  a:\naccess:\n  commands:\n    rollback:\n"
                                         "alerts:\n"))
    assert config.check_deadline_s == 4.0 and config.job("a") is not None


@pytest.mark.parametrize("command", [["serve", "--host", "127.0.0.1"], ["triage", "orders-processor"]])
def test_jobbot_refuses_the_file_at_start_without_a_traceback(tmp_path: Path, command: list[str],
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "jobbot.yaml"
    path.write_text(yaml.safe_dump(BAD))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "JOBBOT_"))}
    env.update(JOBBOT_CONFIG=str(path), PORT="0", SLACK_BOT_TOKEN="xoxb-1111-2222-jobbottesttoken",
               SLACK_SIGNING_SECRET="8f14e45fceea167a5a36dedd4bea2543",
               JOBBOT_SCENARIO=str(Path(__file__).resolve().parents[2] / "scenarios" / "healthy.yaml"))
    with mock.patch.dict(os.environ, env, clear=True):
        assert main(command) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert [p for p in PATHS if p not in err] == []
