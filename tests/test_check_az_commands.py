"""tools/check_az_commands.py reads `az … --help` as the Azure CLI prints it (the text below is `az containerapp
job execution list --help` and part of `az role assignment create --help` from azure-cli 2.91.0), and splits a
printed command into the command and its flags. The check against a real CLI itself is not run here (not in CI)."""

from __future__ import annotations

from tools.check_az_commands import commands_in, options_in, split

EXECUTION_LIST_HELP = """
Command
    az containerapp job execution list : Get list of all executions of a Container App Job.

Arguments
    --name -n           [Required] : The name of the Container Apps Job. A name must consist of
                                     lower case alphanumeric characters or '-', start with a
                                     letter, end with an alphanumeric character, cannot have '--',
                                     and must be less than 32 characters.
    --resource-group -g [Required] : Name of resource group. You can configure the default group
                                     using `az configure --defaults group=<name>`.

Global Arguments
    --debug                        : Increase logging verbosity to show all debug logs.
    --output -o                    : Output format.  Allowed values: json, jsonc, none, table, tsv,
                                     yaml, yamlc.  Default: json.
    --subscription                 : Name or ID of subscription.
"""
UPDATE_HELP_PART = """
Arguments
    --rcc --replica-completion-count : Number of replicas that need to complete successfully for
                                       execution to succeed.
    --workload-profile-name -w       : The friendly name for the workload profile.
"""


def test_required_and_aliased_options_are_read_and_continuation_lines_are_not() -> None:
    options = options_in(EXECUTION_LIST_HELP)
    assert {"--name", "-n", "--resource-group", "-g", "--subscription", "-o"} <= options
    assert "--defaults" not in options and "-" not in options  # words inside descriptions are no options
    assert {"--rcc", "--replica-completion-count", "-w"} <= options_in(UPDATE_HELP_PART)
    assert "--image" not in options_in(UPDATE_HELP_PART)


def test_a_printed_command_splits_into_command_and_flags() -> None:
    [command] = commands_in("Verify: `az containerapp job update --name j --resource-group rg --cpu 0.5 "
                            "--set-env-vars \"A=<previous value>\"` then watch.")
    assert split(command) == (["containerapp", "job", "update"],
                              ["--name", "--resource-group", "--cpu", "--set-env-vars"])
    assert split("az keyvault set-policy --name kv --secret-permissions get list")[1] == \
        ["--name", "--secret-permissions"]
    assert split("az x y --offset -5")[1] == ["--offset"]  # a negative number is a value, not a flag
