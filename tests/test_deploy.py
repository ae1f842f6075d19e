"""The Azure deployment: least privilege from the code's own reads, secrets only as Key Vault references,
probes on the bot's real health routes, and a template with nothing left unfilled."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.azure.permissions import DATA_PLANE_ROLES, ROLE_NAME
from tools.check_deploy_commands import az_commands

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = (ROOT / "deploy" / "azure" / "deploy.sh").read_text()
TEMPLATE = (ROOT / "deploy" / "azure" / "containerapp.yaml").read_text()
IDENTITY = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-jobbot"


def rendered() -> dict[str, Any]:
    """The template as deploy.sh fills it: the script's own `sed -e "s#__NAME__#$value#g"` list."""
    fills = dict(re.findall(r'-e "s#(__[A-Z_]+__)#\$([a-zA-Z_]+)#g"', SCRIPT))
    values = {"identity_id": IDENTITY, "registries": "[]", "vault_uri": "https://kv-jobbot.vault.azure.net/"}
    text = TEMPLATE
    for placeholder, variable in fills.items():
        text = text.replace(placeholder, values.get(variable, f"{variable}-value"))
    assert not re.findall(r"__[A-Z_]+__", text), "a placeholder deploy.sh does not fill"
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def test_the_script_fills_every_placeholder_of_the_template() -> None:
    rendered()


def test_secrets_are_key_vault_references_read_with_the_bots_identity() -> None:
    app = rendered()
    secrets = app["properties"]["configuration"]["secrets"]
    assert secrets and all(set(s) == {"name", "keyVaultUrl", "identity"} for s in secrets)  # never a value
    assert all(s["identity"] == IDENTITY for s in secrets)
    env = {e["name"]: e for e in app["properties"]["template"]["containers"][0]["env"]}
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "JOBBOT_ALERT_TOKEN", "JOBBOT_DATABASE_URL"):
        assert set(env[name]) == {"name", "secretRef"}, name
    assert app["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {IDENTITY: {}}}
    assert "AZURE_CLIENT_ID" in env  # DefaultAzureCredential picks the user-assigned identity by it


def test_probes_use_the_bots_health_routes_on_the_port_it_listens_on() -> None:
    server = (ROOT / "bot" / "server.py").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    app = rendered()
    container = app["properties"]["template"]["containers"][0]
    probes = {p["type"]: p["httpGet"] for p in container["probes"]}
    assert probes["Liveness"]["path"] == "/healthz" and probes["Readiness"]["path"] == "/readyz"
    assert all(f'Route("{p["path"]}"' in server for p in probes.values())
    port = int(re.search(r"^EXPOSE (\d+)", dockerfile, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert {p["port"] for p in probes.values()} == {port}
    assert app["properties"]["configuration"]["ingress"]["targetPort"] == port
    # Two replicas share state: the database URL must be PostgreSQL (made by the script), not SQLite.
    assert app["properties"]["template"]["scale"] == {"minReplicas": 2, "maxReplicas": 2}
    assert "postgresql://" in SCRIPT and "az postgres flexible-server create" in SCRIPT


def test_the_identity_gets_the_generated_role_and_only_the_data_roles_it_needs() -> None:
    assert '"$here/jobbot-reader-role.json"' in SCRIPT
    granted = set(re.findall(r'--role "?([A-Za-z][A-Za-z ]+?)"? --scope', SCRIPT))
    # The bot's identity: the generated role, the data-plane readers, Key Vault Secrets User, AcrPull.
    # The deployer: Key Vault Secrets Officer on the new vault only (to store the secrets).
    assert granted == {ROLE_NAME, *DATA_PLANE_ROLES, "Key Vault Secrets User", "Key Vault Secrets Officer", "AcrPull"}
    assert not re.search(r"--role \"?(Owner|Contributor|Reader)\"? ", SCRIPT)


def test_no_secret_is_passed_on_a_command_line() -> None:
    # `ps` shows arguments: secrets go through files (put_secret), never `--value`.
    assert "--value" not in SCRIPT
    for variable in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "JOBBOT_ALERT_TOKEN"):
        uses = [line for line in SCRIPT.splitlines() if f'"${variable}"' in line]
        assert uses and all(line.strip().startswith("put_secret") for line in uses), variable


def test_the_command_checker_sees_every_az_command_including_substitutions() -> None:
    commands = az_commands(SCRIPT)
    assert sum(1 for line in SCRIPT.splitlines() if re.search(r"(^|\$\(|then |! )\s*az ", line.strip())) \
        == len(commands)
    assert "az identity show --resource-group \"$rg\" --name \"id-$name\" --query id -o tsv" in commands
    assert all(not c.endswith("\\") for c in commands)
