"""resize: renditions of the original, written to the renditions bucket (AWS glue around ``renditions``)."""

from __future__ import annotations

from imgflow import keys, objects
from imgflow.config import Settings
from imgflow.models import ProcessInput, RenditionOut
from tasks.resize.renditions import render

EXTENSIONS = {"JPEG": "jpg", "WEBP": "webp", "AVIF": "avif", "PNG": "png"}


def make_renditions(task: ProcessInput, settings: Settings) -> list[RenditionOut]:
    image = task.image
    data = objects.read(image.bucket, image.key, max_bytes=task.validated.bytes)
    out: list[RenditionOut] = []
    written: dict[int, str] = {}  # a small original gives several renditions one encoding: store it once
    for rendered in render(data, settings.renditions, settings.limits):
        key = written.get(id(rendered.data), "")
        if not key:
            key = keys.rendition_key(image.owner, image.id, rendered.name, EXTENSIONS[rendered.format])
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
    return out
