"""Where the bundled asset folders (kql/, runbooks/, scenarios/) are: the repo, or inside the wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def asset_dir(name: str) -> Path:
    for candidate in (_PACKAGE.parent / name, _PACKAGE / "_assets" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"bundled folder {name}/ not found next to the bot package")


def bundled_scenarios() -> list[Path]:
    directory = asset_dir("scenarios")
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.json")])
