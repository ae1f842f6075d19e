"""The evidence pack on disk (`--evidence-pack DIR`) and as one zip (the Slack upload), both reproducible."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path

from bot.errors import InvalidRequest

# Reproducible archives carry a fixed time (ZIP's earliest): the files' own times are in the manifest.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def write_pack(directory: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write each file into `directory` (made if missing); returns the paths written."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for name, content in sorted(files.items()):
            path = directory / name
            path.write_bytes(content)
            written.append(path)
    except OSError as error:
        raise InvalidRequest(f"cannot write the evidence pack into {directory}: {error.strerror or error}") from None
    return written


def zip_pack(folder: str, files: Mapping[str, bytes]) -> bytes:
    """The files in one zip, under `folder/`, byte-identical for identical files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in sorted(files.items()):
            info = zipfile.ZipInfo(f"{folder}/{name}", date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()
