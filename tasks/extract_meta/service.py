"""extract_meta: EXIF and image facts from the original's header (AWS glue around ``metadata``)."""

from __future__ import annotations

from typing import Any

from imgflow import objects
from imgflow.config import Settings
from imgflow.models import ProcessInput
from tasks.extract_meta.metadata import extract_metadata


def extract_for(task: ProcessInput, settings: Settings) -> dict[str, Any]:
    data = objects.read(task.image.bucket, task.image.key, max_bytes=task.validated.bytes)
    return extract_metadata(data, max_pixels=settings.limits.max_pixels)
