"""The exact Azure CLI commands a checklist hands to a human, quoted for a POSIX shell.

jobbot never runs these: it shows them, ready to copy, and checks the result with its own reads.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from bot.checklists.images import ImageRef
from bot.model import Container, JobRef


def _join(words: Sequence[str]) -> str:
    return " ".join(shlex.quote(word) for word in words)


def _job(job: JobRef) -> list[str]:
    return ["--name", job.name, "--resource-group", job.resource_group, "--subscription", job.subscription]


def show_job(job: JobRef) -> str:
    """Save the whole definition: jobs have no revisions, so this file is the only undo point."""
    return _join(["az", "containerapp", "job", "show", *_job(job), "-o", "yaml"]) + \
        f" > {shlex.quote(job.name + '-before-rollback.yaml')}"


def update_image(job: JobRef, image: str, *, container: str | None = None,
                 resources: Container | None = None) -> str:
    """Roll the job's template back to `image` (and the last good cpu/memory, when those changed too)."""
    words = ["az", "containerapp", "job", "update", *_job(job)]
    if container:
        words += ["--container-name", container]
    words += ["--image", image]
    if resources is not None and resources.cpu is not None and resources.memory:
        words += ["--cpu", f"{resources.cpu:g}", "--memory", resources.memory]
    return _join(words)


def set_max_executions(job: JobRef, max_executions: int) -> str:
    return _join(["az", "containerapp", "job", "update", *_job(job), "--max-executions", str(max_executions)])


def servicebus_status(namespace: str, entity: str, status: str, resource_group: str) -> str:
    """Disable (ReceiveDisabled) or re-enable (Active) receiving on a queue or a topic subscription."""
    topic, slash, subscription = entity.partition("/")
    if slash:
        words = ["az", "servicebus", "topic", "subscription", "update", "--resource-group", resource_group,
                 "--namespace-name", namespace, "--topic-name", topic, "--name", subscription]
    else:
        words = ["az", "servicebus", "queue", "update", "--resource-group", resource_group,
                 "--namespace-name", namespace, "--name", entity]
    return _join([*words, "--status", status])


def acr_digest(image: ImageRef) -> str | None:
    """Read the tag's digest (this also proves the tag still exists), for an image in an ACR."""
    registry = image.acr_name
    if registry is None or not image.tag:
        return None
    return _join(["az", "acr", "repository", "show", "--name", registry, "--image",
                  f"{image.repository}:{image.tag}", "--query", "digest", "-o", "tsv"])
