"""Check every `az` command in deploy/azure/deploy.sh with the Azure CLI's own argument parser, offline.

The CLI validates a command's group, name and arguments before it asks for a login: a correct command ends
with "Please run 'az login'", a wrong one exits 2 naming the problem (shared/docs/azure.md). Shell
variables are replaced by harmless values; nothing runs, since there is no login (an empty config dir).

    python tools/check_deploy_commands.py [--az /path/to/az] [SCRIPT]

Not in CI: the Azure CLI is ~700 MB. Install it aside: `python -m venv /tmp/az && /tmp/az/bin/pip install
azure-cli`. Prints one line per command and exits 1 if any is refused.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}?")


def az_commands(script: str) -> list[str]:
    """Every `az …` command in a bash script: lines joined at backslashes, `$(az …)` substitutions included."""
    joined = re.sub(r"\\\n\s*", " ", script)
    commands: list[str] = []
    for line in joined.splitlines():
        text = line.split(" #", 1)[0].strip()
        if text.startswith("#"):
            continue
        for match in re.finditer(r"(?:^|\$\(|\bthen\s+|\belse\s+|!\s+)(az\s[^|);]*)", text):
            commands.append(match.group(1).strip())
    return commands


def concrete(command: str, workdir: Path) -> list[str]:
    """Shell words with every variable replaced: ids look like ids, files exist."""
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in {"secrets_dir", "here"}:
            return str(workdir)
        if name.endswith("_id") or name in {"JOBBOT_WORKSPACE_ID", "account", "scopes"}:
            return "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg"
        if name == "JOBBOT_CONFIG_FILE":
            return str(workdir / "jobbot.yaml")
        return "jobbot01"  # valid as any kind of name (registries want 5+ alphanumerics)
    words = shlex.split(_VARIABLE.sub(value, command))
    return [w for w in words if w not in {"2>/dev/null"}]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("script", nargs="?", default=str(ROOT / "deploy" / "azure" / "deploy.sh"))
    parser.add_argument("--az", default="az")
    args = parser.parse_args(argv)
    commands = az_commands(Path(args.script).read_text())
    refused = 0
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for name in ("role.json", "value", "containerapp.yaml", "jobbot.yaml"):
            (workdir / name).write_text("{}\n")
        env = {**os.environ, "AZURE_CONFIG_DIR": str(workdir / "azure"), "AZURE_CORE_COLLECT_TELEMETRY": "0"}
        for command in commands:
            words = concrete(command, workdir)
            done = subprocess.run([args.az, *words[1:]], capture_output=True, text=True, env=env, timeout=120,
                                  check=False)
            ok = "az login" in done.stderr
            refused += not ok
            reason = "" if ok else " — " + " ".join(done.stderr.split())[:200]
            print(f"{'ok     ' if ok else 'REFUSED'} {' '.join(words[:4])}{reason}")
    print(f"{len(commands) - refused} of {len(commands)} az commands parse")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
