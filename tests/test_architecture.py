"""The shape the data flows through stays visible: the core never imports an SDK."""

from __future__ import annotations

import ast
from pathlib import Path

import bot

PACKAGE = Path(bot.__file__).parent
CORE = ["model.py", "errors.py", "clock.py", "intake.py", "kql.py", "triage.py", "exitcodes.py", "config.py",
        "evidence", "verdict", "respond"]
SDK_PREFIXES = ("azure", "slack_sdk", "slack_bolt", "duckdb", "duckdb_kql", "bot.azure", "bot.emulator")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def core_files() -> list[Path]:
    files: list[Path] = []
    for entry in CORE:
        path = PACKAGE / entry
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


def test_core_modules_never_import_slack_azure_or_the_emulator() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(m for m in imported_modules(path) if m.startswith(SDK_PREFIXES))
        for path in core_files()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_production_code_never_imports_the_emulator() -> None:
    allowed = {"scenario_mode.py", "demo.py", "cli.py"}
    offenders = [
        str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
        if "emulator" not in path.parts and path.name not in allowed
        and any(m.startswith("bot.emulator") for m in imported_modules(path))
    ]
    assert offenders == []


def test_tests_and_demo_never_construct_default_azure_credential() -> None:
    # Its managed-identity probe goes to 169.254.169.254, off loopback.
    root = PACKAGE.parent
    hits = [str(p) for p in [*root.glob("tests/**/*.py"), *root.glob("bench/**/*.py"), PACKAGE / "demo.py",
                             PACKAGE / "scenario_mode.py"]
            if "DefaultAzureCredential(" in p.read_text() and p.name != "test_architecture.py"]
    assert hits == []
