#!/usr/bin/env bash
# Deploy jobbot on Azure Container Apps with the least privilege it needs. Idempotent: run it again to
# update. Needs the Azure CLI (`az login` as someone who may create resources and assign roles).
#
# Required:
#   JOBBOT_RG            resource group for the bot (created if missing)
#   JOBBOT_LOCATION      Azure region, e.g. westeurope
#   JOBBOT_IMAGE         the image built from this repository's Dockerfile, e.g. contoso.azurecr.io/jobbot:0.2.0
#   JOBBOT_WORKSPACE_ID  ARM id of the Log Analytics workspace your jobs log to (the bot queries it)
#   JOBBOT_CONFIG_FILE   path of your jobbot.yaml (stored in Key Vault, mounted read-only)
#   SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, JOBBOT_ALERT_TOKEN   (read from the environment, never echoed)
# Optional:
#   JOBBOT_SUBSCRIPTIONS   space-separated subscription ids the bot reads (default: the current one)
#   JOBBOT_QUEUE_ACCOUNTS  space-separated ARM ids of storage accounts whose queues scale your jobs
#   JOBBOT_ACR             name of the Azure Container Registry holding JOBBOT_IMAGE (pulled by identity)
#   JOBBOT_NAME            name prefix of the bot's resources (default: jobbot)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
: "${JOBBOT_RG:?set JOBBOT_RG}" "${JOBBOT_LOCATION:?set JOBBOT_LOCATION}" "${JOBBOT_IMAGE:?set JOBBOT_IMAGE}"
: "${JOBBOT_WORKSPACE_ID:?set JOBBOT_WORKSPACE_ID}" "${JOBBOT_CONFIG_FILE:?set JOBBOT_CONFIG_FILE}"
: "${SLACK_BOT_TOKEN:?set SLACK_BOT_TOKEN}" "${SLACK_SIGNING_SECRET:?set SLACK_SIGNING_SECRET}"
: "${JOBBOT_ALERT_TOKEN:?set JOBBOT_ALERT_TOKEN}"
name="${JOBBOT_NAME:-jobbot}"
rg="$JOBBOT_RG"
location="$JOBBOT_LOCATION"
subscription="$(az account show --query id -o tsv)"
subscriptions="${JOBBOT_SUBSCRIPTIONS:-$subscription}"
# Key Vault and PostgreSQL names are global: make them unique per subscription and group, stably.
suffix="$(printf '%s' "$subscription/$rg" | sha256sum | cut -c1-8)"
vault="kv-${name}-${suffix}"
pg_server="psql-${name}-${suffix}"

secrets_dir="$(mktemp -d)"
trap 'rm -rf "$secrets_dir"' EXIT
chmod 700 "$secrets_dir"

echo "1/8 resource group and the bot's identity"
az group create --name "$rg" --location "$location" --output none
az identity create --resource-group "$rg" --name "id-$name" --location "$location" --output none
identity_id="$(az identity show --resource-group "$rg" --name "id-$name" --query id -o tsv)"
principal_id="$(az identity show --resource-group "$rg" --name "id-$name" --query principalId -o tsv)"
client_id="$(az identity show --resource-group "$rg" --name "id-$name" --query clientId -o tsv)"

echo "2/8 the read-only role: exactly the reads jobbot makes (jobbot-reader-role.json)"
scopes=""
for sub in $subscriptions; do scopes="$scopes\"/subscriptions/$sub\","; done
sed -e "s#\"/subscriptions/{subscription-id}\"#${scopes%,}#" "$here/jobbot-reader-role.json" > "$secrets_dir/role.json"
if az role definition list --custom-role-only true --name "jobbot reader" --query "[0].id" -o tsv | grep -q .; then
    az role definition update --role-definition "@$secrets_dir/role.json" --output none
else
    az role definition create --role-definition "@$secrets_dir/role.json" --output none
fi
for sub in $subscriptions; do
    az role assignment create --assignee-object-id "$principal_id" --assignee-principal-type ServicePrincipal \
        --role "jobbot reader" --scope "/subscriptions/$sub" --output none
done

echo "3/8 data-plane reads: Log Analytics Reader on the workspace, Storage Queue Data Reader per account"
az role assignment create --assignee-object-id "$principal_id" --assignee-principal-type ServicePrincipal \
    --role "Log Analytics Reader" --scope "$JOBBOT_WORKSPACE_ID" --output none
for account in ${JOBBOT_QUEUE_ACCOUNTS:-}; do
    az role assignment create --assignee-object-id "$principal_id" --assignee-principal-type ServicePrincipal \
        --role "Storage Queue Data Reader" --scope "$account" --output none
done
# Service Bus depth is read through ARM (the role above): no Service Bus data role is needed.

echo "4/8 Key Vault for the Slack secrets, the alert token, the database URL and jobbot.yaml"
az keyvault create --resource-group "$rg" --name "$vault" --location "$location" \
    --enable-rbac-authorization true --output none
vault_id="$(az keyvault show --name "$vault" --query id -o tsv)"
vault_uri="$(az keyvault show --name "$vault" --query properties.vaultUri -o tsv)"
me="$(az ad signed-in-user show --query id -o tsv)"
az role assignment create --assignee-object-id "$me" --assignee-principal-type User \
    --role "Key Vault Secrets Officer" --scope "$vault_id" --output none
az role assignment create --assignee-object-id "$principal_id" --assignee-principal-type ServicePrincipal \
    --role "Key Vault Secrets User" --scope "$vault_id" --output none

# Secrets go through files readable only by us, never through the command line (visible in `ps`).
put_secret() {
    printf '%s' "$2" > "$secrets_dir/value"
    az keyvault secret set --vault-name "$vault" --name "$1" --file "$secrets_dir/value" --encoding utf-8 \
        --output none
    rm -f "$secrets_dir/value"
}
put_secret slack-bot-token "$SLACK_BOT_TOKEN"
put_secret slack-signing-secret "$SLACK_SIGNING_SECRET"
put_secret alert-token "$JOBBOT_ALERT_TOKEN"
az keyvault secret set --vault-name "$vault" --name jobbot-yaml --file "$JOBBOT_CONFIG_FILE" --encoding utf-8 \
    --output none

echo "5/8 PostgreSQL Flexible Server (state shared by the two replicas)"
if ! az postgres flexible-server show --resource-group "$rg" --name "$pg_server" --output none 2>/dev/null; then
    pg_password="$(openssl rand -base64 32 | tr -dc 'A-Za-z0-9' | cut -c1-32)"
    az postgres flexible-server create --resource-group "$rg" --name "$pg_server" --location "$location" \
        --tier Burstable --sku-name Standard_B1ms --storage-size 32 --version 16 \
        --admin-user jobbot --admin-password "$pg_password" --public-access 0.0.0.0 --yes --output none
    az postgres flexible-server db create --resource-group "$rg" --server-name "$pg_server" \
        --name jobbot --output none
    put_secret database-url \
        "postgresql://jobbot:${pg_password}@${pg_server}.postgres.database.azure.com:5432/jobbot?sslmode=require"
fi

echo "6/8 Container Apps environment (the bot's own logs go to the same workspace)"
workspace_rg="$(cut -d/ -f5 <<<"$JOBBOT_WORKSPACE_ID")"
workspace_name="$(cut -d/ -f9 <<<"$JOBBOT_WORKSPACE_ID")"
workspace_customer_id="$(az monitor log-analytics workspace show --resource-group "$workspace_rg" \
    --workspace-name "$workspace_name" --query customerId -o tsv)"
workspace_key="$(az monitor log-analytics workspace get-shared-keys --resource-group "$workspace_rg" \
    --workspace-name "$workspace_name" --query primarySharedKey -o tsv)"
az containerapp env create --resource-group "$rg" --name "cae-$name" --location "$location" \
    --logs-destination log-analytics --logs-workspace-id "$workspace_customer_id" \
    --logs-workspace-key "$workspace_key" --output none
environment_id="$(az containerapp env show --resource-group "$rg" --name "cae-$name" --query id -o tsv)"

echo "7/8 image pull"
registries="[]"
if [ -n "${JOBBOT_ACR:-}" ]; then
    acr_id="$(az acr show --name "$JOBBOT_ACR" --query id -o tsv)"
    acr_server="$(az acr show --name "$JOBBOT_ACR" --query loginServer -o tsv)"
    az role assignment create --assignee-object-id "$principal_id" --assignee-principal-type ServicePrincipal \
        --role AcrPull --scope "$acr_id" --output none
    registries="[{server: $acr_server, identity: $identity_id}]"
fi

echo "8/8 the bot: two replicas, probes on /healthz and /readyz"
sed -e "s#__LOCATION__#$location#g" -e "s#__IDENTITY_ID__#$identity_id#g" \
    -e "s#__ENVIRONMENT_ID__#$environment_id#g" -e "s#__VAULT_URI__#$vault_uri#g" \
    -e "s#__IMAGE__#$JOBBOT_IMAGE#g" -e "s#__IDENTITY_CLIENT_ID__#$client_id#g" \
    -e "s#__REGISTRIES__#$registries#g" "$here/containerapp.yaml" > "$secrets_dir/containerapp.yaml"
if az containerapp show --resource-group "$rg" --name "$name" --output none 2>/dev/null; then
    az containerapp update --resource-group "$rg" --name "$name" --yaml "$secrets_dir/containerapp.yaml" --output none
else
    az containerapp create --resource-group "$rg" --name "$name" --yaml "$secrets_dir/containerapp.yaml" --output none
fi
fqdn="$(az containerapp show --resource-group "$rg" --name "$name" --query properties.configuration.ingress.fqdn -o tsv)"
echo "jobbot is at https://$fqdn"
echo "Slack: request URLs https://$fqdn/slack/events; alerts: https://$fqdn/alerts/azure-monitor (token in $vault)"
