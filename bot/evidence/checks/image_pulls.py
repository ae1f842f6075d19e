"""image_pulls: the image cannot be pulled (ErrImagePull, ImagePullBackOff, registry auth)."""

from __future__ import annotations

from bot.evidence.checks.signatures import signature_result, signature_rows
from bot.evidence.sources import Sources
from bot.model import CheckResult

NAME = "image_pulls"
NEEDS = ("query:platform_errors",)  # the upstream reads it makes (prefetched together)


async def run(sources: Sources) -> CheckResult:
    """Image-pull failures in the system logs."""
    found = await signature_rows(sources, "image-pull")
    return signature_result(NAME, found, "image-pull", "No image-pull errors.")
