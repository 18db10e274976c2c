"""extract_meta: EXIF and image facts from the original's header (AWS glue around ``metadata``)."""

from __future__ import annotations

from typing import Any

from imgflow import objects
from imgflow.config import Settings
from imgflow.models import ProcessInput
from tasks.extract_meta.metadata import JPEG_HEADER_BYTES, extract_metadata, jpeg_headers_complete


def extract_for(task: ProcessInput, settings: Settings) -> dict[str, Any]:
    """Metadata of the original; for a JPEG, from a ranged GET of its headers when they fit in it."""
    image, validated = task.image, task.validated
    if validated.format in ("JPEG", "MPO") and validated.bytes > JPEG_HEADER_BYTES:
        prefix = objects.read(image.bucket, image.key, max_bytes=JPEG_HEADER_BYTES - 1)
        if jpeg_headers_complete(prefix):
            return extract_metadata(prefix, settings.limits)
    data = objects.read(image.bucket, image.key, max_bytes=validated.bytes)
    return extract_metadata(data, settings.limits)
