"""resize: renditions of the original, written to the renditions bucket (AWS glue around ``renditions``)."""

from __future__ import annotations

from typing import Any

from imgflow import keys, objects
from imgflow.config import Settings
from imgflow.errors import ImageDeleted
from imgflow.image.phash import phash
from imgflow.image.placeholder import placeholder
from imgflow.models import ProcessInput, RenditionOut
from imgflow.records import ImageRepository, Status
from tasks.resize.renditions import render_with_preview

EXTENSIONS = {"JPEG": "jpg", "WEBP": "webp", "AVIF": "avif", "PNG": "png"}


def make_renditions(task: ProcessInput, settings: Settings) -> dict[str, Any]:
    """The renditions written, with the placeholder and perceptual hash of the smallest one's pixels."""
    image = task.image
    data = objects.read(image.bucket, image.key, max_bytes=task.validated.bytes)
    # A folder of this run's own: the record's current renditions are never overwritten.
    run = keys.run_tag(task.execution_arn or f"{image.key}@{image.sequencer}")
    out: list[RenditionOut] = []
    written: dict[int, str] = {}  # a small original gives several renditions one encoding: store it once
    rendered_all, preview = render_with_preview(data, settings.renditions, settings.limits)
    for rendered in rendered_all:
        key = written.get(id(rendered.data), "")
        if not key:
            key = keys.rendition_key(image.owner, image.id, rendered.name, EXTENSIONS[rendered.format], run)
            objects.write(settings.renditions_bucket, key, rendered.data, content_type=rendered.content_type)
            written[id(rendered.data)] = key
        out.append(
            RenditionOut(
                name=rendered.name,
                width=rendered.width,
                height=rendered.height,
                format=rendered.format,
                bytes=len(rendered.data),
                key=key,
            )
        )
    _unless_deleted(image.owner, image.id, set(written.values()), settings)
    return {
        "renditions": [r.model_dump() for r in out],
        "placeholder": placeholder(preview).as_dict() if preview else None,
        "phash": phash(preview) if preview else None,
    }


def _unless_deleted(owner: str, image_id: str, written: set[str], settings: Settings) -> None:
    """Remove what this run wrote if the image was deleted meanwhile (``ImageDeleted``).

    The delete writes its tombstone before it lists the renditions: a rendition written after that
    listing is seen here (strongly consistent read after the write), one written before is in the listing.
    """
    record = ImageRepository(settings.table_name).get(image_id)
    if record is None or record.get("status") == Status.DELETED:
        objects.delete(settings.renditions_bucket, written)
        raise ImageDeleted(f"image {owner}/{image_id} was deleted while its renditions were made")
