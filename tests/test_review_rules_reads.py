"""The review rules judged from the reads added for issue 12's last rules: the environment's core usages
(PERF-06), the Log Analytics workspace (SEC-12), the event sources' network access (SEC-10) and a Storage
queue's declared poison queue (REL-04). Each rule: what makes it pass, what makes it warn or fail, and the
read failing as its error.

Facts come from ARM JSON through the real parser, as in test_review_rules; the Azure bodies are the official
examples in tests/fixtures/azure."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.model import QueueDepth, ScaleRule, Window
from bot.review.facts import Facts
from bot.review.findings import Status
from bot.review.gather import gather
from bot.review.rules import by_id
from tests.fakes import FakeChanges, FakeJobs, FakeQueues, make_job, readers
from tests.test_review_rules import CONTAINER, ENV, NOW, SCALE, changed, facts

AZURE = Path(__file__).resolve().parent / "fixtures" / "azure"


def sample(name: str) -> Any:
    """The 200 body of an official example in tests/fixtures/azure."""
    return json.loads((AZURE / name).read_text())["responses"]["200"]["body"]


SAMPLE_WORKSPACE = sample("operationalinsights.WorkspacesGet.json")
SAMPLE_USAGE = sample("app.ManagedEnvironmentUsages_List.json")
SAMPLE_STORAGE = sample("storage.StorageAccountGetProperties.json")  # networkAcls.defaultAction Allow
SAMPLE_VAULT = sample("keyvault.getVault.json")  # publicNetworkAccess Enabled, no networkAcls


def usage(used: float, limit: float, name: str = "ManagedEnvironmentConsumptionCores") -> dict[str, Any]:
    """The official example's item with other numbers (and, for a dedicated profile, another name)."""
    item = json.loads(json.dumps(SAMPLE_USAGE["value"][0]))
    item.update(currentValue=used, limit=limit)
    item["name"]["value"] = name
    return item


def with_usages(f: Facts, *items: dict[str, Any]) -> Facts:
    return dataclasses.replace(f, usages_list=tuple(items))


def perf06(f: Facts) -> Any:
    return by_id("PERF-06").evaluate(f)


def test_perf06_reads_the_official_example_as_the_consumption_cores() -> None:
    finding = perf06(with_usages(facts(), *SAMPLE_USAGE["value"]))  # 0.5 of 10 cores in use
    assert finding.status is Status.OK  # BASE needs 10 × 1 × 0.5 = 5 cores, under 80 % of the 9.5 free
    assert "9.5 of 10 free" in finding.title
    assert finding.evidence is not None and finding.evidence.observed["used"] == 0.5


def test_perf06_passes_with_room_warns_near_the_free_cores_and_fails_beyond_them() -> None:
    # BASE at full scale: maxExecutions 10 × parallelism 1 × 0.5 vCPU = 5 cores.
    assert perf06(with_usages(facts(), usage(0, 100))).status is Status.OK
    assert perf06(with_usages(facts(), usage(94, 100))).status is Status.WARN  # 5 > 80 % of 6 free
    failed = perf06(with_usages(facts(), usage(96, 100)))  # 4 free
    assert failed.status is Status.FAIL
    assert "needs 5 cores" in failed.title and "4 of 100 free" in failed.title
    assert failed.fix is not None and failed.fix.verify.startswith("az containerapp env list-usages --name cae ")
    bigger = changed(f"{SCALE}.maxExecutions", 300)  # 150 cores: more than the whole quota
    assert perf06(with_usages(facts(bigger), usage(0, 100))).status is Status.FAIL
    wider = changed(f"{CONTAINER}.resources.cpu", 2.0)  # 20 cores of 22 free: over 80 %
    assert perf06(with_usages(facts(wider), usage(78, 100))).status is Status.WARN


def test_perf06_counts_one_execution_of_a_manual_job() -> None:
    manual = changed("properties.configuration", {
        "triggerType": "Manual", "replicaTimeout": 600, "replicaRetryLimit": 1,
        "manualTriggerConfig": {"parallelism": 3, "replicaCompletionCount": 3}})
    finding = perf06(with_usages(facts(manual), usage(98.25, 100)))  # 3 × 0.5 = 1.5 cores of 1.75 free
    assert finding.status is Status.WARN and "needs 1.5 cores" in finding.title


def test_perf06_reads_a_dedicated_profile_by_its_family_and_errors_when_none_is_reported() -> None:
    env = json.loads(json.dumps(ENV))
    env["properties"]["workloadProfiles"].append({"name": "batch", "workloadProfileType": "D4",
                                                  "minimumCount": 1, "maximumCount": 3})
    job = changed("properties.workloadProfileName", "batch")
    general = usage(99, 100, "ManagedEnvironmentGeneralPurposeCores")
    assert perf06(with_usages(facts(job, env=env), usage(0, 100), general)).status is Status.FAIL
    only_consumption = perf06(with_usages(facts(job, env=env), usage(0, 100)))
    assert only_consumption.status is Status.ERROR and "ManagedEnvironmentGeneralPurposeCores" in only_consumption.title


def test_perf06_is_an_error_naming_why_when_the_usages_could_not_be_read() -> None:
    unread = facts(unread={"environment usages": "Azure Container Apps (ARM) answered HTTP 403"})
    finding = perf06(unread)
    assert finding.status is Status.ERROR and "403" in finding.title


def workspace(resource_only: bool | None) -> dict[str, Any]:
    """The official workspace body, with the access-mode feature set (None: absent, as in the example)."""
    body = json.loads(json.dumps(SAMPLE_WORKSPACE))
    if resource_only is not None:
        body["properties"]["features"] = {"enableLogAccessUsingOnlyResourcePermissions": resource_only}
    return body


def sec12(f: Facts) -> Any:
    return by_id("SEC-12").evaluate(f)


def test_sec12_passes_resource_context_access_and_warns_when_it_is_off_or_not_set() -> None:
    ok = sec12(dataclasses.replace(facts(), workspace_body=workspace(True)))
    assert ok.status is Status.OK and "oiautorest6685" in ok.title
    assert ok.fix is not None and ok.fix.verify.startswith("az monitor log-analytics workspace show --ids ")
    off = sec12(dataclasses.replace(facts(), workspace_body=workspace(False)))
    assert off.status is Status.WARN and "is off" in off.title
    unset = sec12(dataclasses.replace(facts(), workspace_body=workspace(None)))  # the official example as served
    assert unset.status is Status.WARN and "is not set" in unset.title
    assert unset.evidence is not None and unset.evidence.observed is None


def test_sec12_is_skipped_without_a_workspace_and_an_error_when_it_could_not_be_read() -> None:
    none = sec12(facts(unread={"workspace": "n/a: the environment cae does not send logs to a workspace"}))
    assert none.status is Status.SKIPPED and "does not send logs" in none.title
    lost = sec12(facts(unread={"workspace": "no workspace with customer id 3d2c is in the reader's reach"}))
    assert lost.status is Status.ERROR and "reader's reach" in lost.title


async def test_the_review_reads_the_workspace_its_environment_names_and_says_when_none_is_in_reach() -> None:
    job = make_job()
    located = "/subscriptions/sub-1/resourceGroups/rg-logs/providers/Microsoft.OperationalInsights/workspaces/law"
    body = {**workspace(True), "id": located, "name": "law"}
    now = NOW
    window = Window(now - timedelta(days=7), now)
    found = await gather(job, window, now, readers(FakeJobs([job]), changes=FakeChanges(
        workspaces={"ws-1": located}, resources={located.lower(): body})), Config())
    assert found.workspace_body == body and by_id("SEC-12").evaluate(found).status is Status.OK
    missing = await gather(job, window, now, readers(FakeJobs([job]), changes=FakeChanges()), Config())
    finding = by_id("SEC-12").evaluate(missing)
    assert finding.status is Status.ERROR and "customer id ws-1" in finding.title


def closed(body: dict[str, Any], how: str = "acl") -> dict[str, Any]:
    """An official body refusing the internet: by a network rule denying by default, or public access off."""
    out = json.loads(json.dumps(body))
    if how == "acl":
        out["properties"]["networkAcls"] = {"bypass": "AzureServices", "defaultAction": "Deny"}
    else:
        out["properties"]["publicNetworkAccess"] = "Disabled"
    return out


def sec10(f: Facts) -> Any:
    return by_id("SEC-10").evaluate(f)


def reached(storage: dict[str, Any] | None, vault: dict[str, Any] | None, **more: Any) -> Facts:
    """BASE (a Storage queue rule on account `st`, a secret in vault `kv`, an environment without a VNet)."""
    return dataclasses.replace(facts(**more), event_sources={"storage st": storage} if storage else {},
                               vaults={"kv": vault} if vault else {})


def test_sec10_passes_a_vnet_or_sources_that_refuse_the_internet() -> None:
    env = json.loads(json.dumps(ENV))
    env["properties"]["vnetConfiguration"] = {"infrastructureSubnetId": "/subscriptions/s/resourceGroups/n/providers/"
                                                                        "Microsoft.Network/virtualNetworks/v/subnets/cae"}
    in_vnet = sec10(reached(SAMPLE_STORAGE, SAMPLE_VAULT, env=env))
    assert in_vnet.status is Status.OK and "virtual network (cae)" in in_vnet.title
    private = sec10(reached(closed(SAMPLE_STORAGE), closed(SAMPLE_VAULT, "public")))
    assert private.status is Status.OK and "storage st, vault kv refuse traffic from the internet" in private.title


def test_sec10_warns_without_a_vnet_when_a_source_or_vault_is_public() -> None:
    storage = sec10(reached(SAMPLE_STORAGE, closed(SAMPLE_VAULT)))  # the official account allows all
    assert storage.status is Status.WARN and storage.title.endswith("internet: storage st")
    assert storage.fix is not None and storage.fix.verify.startswith("az storage account show --name st ")
    vault = sec10(reached(closed(SAMPLE_STORAGE, "public"), SAMPLE_VAULT))  # the official vault: Enabled
    assert vault.status is Status.WARN and vault.title.endswith("internet: vault kv")
    assert vault.fix is not None and vault.fix.verify.startswith("az keyvault show --name kv ")
    job = changed(f"{SCALE}.rules", [{"name": "sb", "type": "azure-servicebus", "identity": "system",
                                       "metadata": {"namespace": "ns", "queueName": "q"}}])
    namespace = dataclasses.replace(facts(job), event_sources={"namespace ns": {"properties": {}}},
                                    vaults={"kv": closed(SAMPLE_VAULT)})
    warned = sec10(namespace)
    assert warned.status is Status.WARN and "namespace ns" in warned.title and "not read" in warned.title


def test_sec10_is_an_error_when_a_source_was_not_read_or_not_named() -> None:
    unread = sec10(reached(None, closed(SAMPLE_VAULT), unread={"storage st": "n/a: ResourceNotFound st"}))
    assert unread.status is Status.ERROR and "storage st: n/a: ResourceNotFound st" in unread.title
    nameless = changed(f"{SCALE}.rules", [{"name": "sb", "type": "azure-servicebus", "identity": "system",
                                            "metadata": {"topicName": "t"}}])
    finding = sec10(dataclasses.replace(facts(nameless), vaults={"kv": closed(SAMPLE_VAULT)}))
    assert finding.status is Status.ERROR and "rule sb: its event source is not named" in finding.title


def rel04(f: Facts) -> Any:
    return by_id("REL-04").evaluate(f)


def poisoned(depth: int | None, *, tag: bool = True, config: dict[str, Any] | None = None, entity: str = "q-poison",
             unread: dict[str, str] | None = None) -> Facts:
    """BASE (a Storage queue rule `q` on account `st`) with its poison queue declared and read `depth` deep."""
    job = changed("tags", {**facts().job.tags, "jobbot-poison-queue": "q-poison"}) if tag else None
    read = {"q": QueueDepth("azure-queue", "st", entity, depth)} if depth is not None else {}
    return dataclasses.replace(facts(job, config=config, unread=unread), poison=read)


def test_rel04_passes_an_empty_declared_poison_queue_and_warns_when_messages_wait_there() -> None:
    empty = rel04(poisoned(0))
    assert empty.status is Status.OK and "moved to q-poison, which is empty" in empty.title
    assert empty.fix is not None and empty.fix.verify.startswith("az storage queue exists --name q-poison ")
    waiting = rel04(poisoned(4))
    assert waiting.status is Status.WARN and waiting.title.startswith("4 poison message(s) wait in q-poison")
    by_config = rel04(poisoned(0, tag=False, config={"jobs": {"ledger": {"review": {"poison_queue": "q-poison"}}}}))
    assert by_config.status is Status.OK  # declared in jobbot.yaml instead of the tag


def test_rel04_is_an_error_when_the_declared_queue_was_not_read_or_another_was() -> None:
    unread = rel04(poisoned(None, unread={"poison q": "n/a: ResourceNotFound storage queue st/q-poison"}))
    assert unread.status is Status.ERROR and "q-poison could not be read" in unread.title
    other = rel04(poisoned(0, entity="orders"))
    assert other.status is Status.ERROR and "queue config names orders" in other.title


class Storage(FakeQueues):
    """Storage queues by (account, queue): each read answers the depth of the queue the rule names."""

    def __init__(self, depths: dict[tuple[str, str], int]) -> None:
        super().__init__()
        self.depths = depths

    async def depth(self, job: Any, rule: ScaleRule) -> QueueDepth:
        where = (rule.metadata["accountName"], rule.metadata["queueName"])
        return QueueDepth("azure-queue", where[0], where[1], self.depths[where])


async def test_the_review_reads_the_declared_poison_queue_in_the_rules_account() -> None:
    job = make_job()  # its rule reads queue `orders` of account `st`
    tagged = dataclasses.replace(job, tags={**job.tags, "jobbot-poison-queue": "orders-poison"})
    queues = Storage({("st", "orders"): 40, ("st", "orders-poison"): 2})
    window = Window(NOW - timedelta(days=7), NOW)
    found = await gather(tagged, window, NOW, readers(FakeJobs([tagged]), queues=queues), Config())
    assert {name: (q.entity, q.depth) for name, q in found.poison.items()} == {"queue": ("orders-poison", 2)}
    assert found.queues["queue"].depth == 40  # the rule's own queue, read as before
    assert rel04(found).status is Status.WARN
    undeclared = await gather(job, window, NOW, readers(FakeJobs([job]), queues=queues), Config())
    assert undeclared.poison == {} and "No poison queue declared" in rel04(undeclared).title
