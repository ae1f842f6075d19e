"""Container image references: registry, repository, tag and digest, as Docker reads them.

    contoso.azurecr.io/orders:1.4.2          registry contoso.azurecr.io, repository orders, tag 1.4.2
    contoso.azurecr.io/orders@sha256:ab…     the same image pinned by digest
    localhost:5000/team/app                  registry localhost:5000, repository team/app, no tag
    nginx:1.27                               Docker Hub (no registry part), repository nginx
"""

from __future__ import annotations

from dataclasses import dataclass

ACR_SUFFIX = ".azurecr.io"


@dataclass(frozen=True, slots=True)
class ImageRef:
    registry: str | None
    repository: str
    tag: str | None
    digest: str | None

    @property
    def acr_name(self) -> str | None:
        """The Azure Container Registry's name (what `az acr` takes), if the image lives in one."""
        if self.registry and self.registry.lower().endswith(ACR_SUFFIX):
            return self.registry[: -len(ACR_SUFFIX)]
        return None

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}" if self.registry else self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_image(reference: str) -> ImageRef:
    """Split an image reference. The first path part is a registry when it has a dot or a port, or is
    'localhost' (Docker's rule); a tag is the part after the last ':' of the last path part."""
    rest, _, digest = reference.strip().partition("@")
    registry: str | None = None
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, rest = first, remainder
    head, _, last = rest.rpartition("/")
    name, colon, tag = last.partition(":")
    repository = f"{head}/{name}" if head else name
    return ImageRef(registry, repository, tag if colon else None, digest or None)
