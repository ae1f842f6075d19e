"""The README keeps up with the code: every environment variable, subcommand and check is documented."""

from __future__ import annotations

import re
from pathlib import Path

from bot.cli import build_parser
from bot.evidence.registry import CHECKS
from bot.slack.commands import Verb

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_every_environment_variable_the_code_reads_is_in_the_readme() -> None:
    used: set[str] = set()
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]:
        used |= set(re.findall(r"\b((?:JOBBOT|SLACK)_[A-Z_]+)\b", path.read_text()))
    assert sorted(v for v in used if v not in README) == []


def test_every_cli_subcommand_and_slash_command_is_in_the_readme() -> None:
    subcommands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert [c for c in subcommands if f"jobbot {c}" not in README] == []
    assert [v.value for v in Verb if f"/jobbot {v.value}" not in README] == []


def test_every_check_is_in_the_readme() -> None:
    assert [c.name for c in CHECKS if f"`{c.name}`" not in README] == []


def test_the_changelog_has_unreleased_on_top_and_a_dated_section_for_the_released_version() -> None:
    import tomllib

    released = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    headings = re.findall(r"^## \[([^\]]+)\](.*)$", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert headings[0] == ("Unreleased", "")
    assert re.fullmatch(r" - \d{4}-\d{2}-\d{2}", dict(headings).get(released, "")), f"no dated [{released}]"
