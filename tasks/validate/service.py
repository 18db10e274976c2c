"""validate: is the upload really a safe, supported image? (AWS glue around ``checks``)."""

from __future__ import annotations

import hashlib

from imgflow import keys, objects
from imgflow.config import Settings
from imgflow.errors import ImageTooLarge, InvalidKey
from imgflow.models import ImageRef, Validated
from imgflow.records.repository import ContentIndex
from tasks.validate.checks import check_object_size, validate_image

CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "HEIF": "image/heic",
    "AVIF": "image/avif",
}


def validate_upload(image: ImageRef, settings: Settings) -> Validated:
    """Size from the object's metadata first, then the content; raises a named rejection."""
    if keys.parse_upload_key(image.key, settings.uploads_prefix) is None:
        raise InvalidKey(f"{image.key!r} is not an upload key imgflow hands out")
    size = int(objects.head(image.bucket, image.key)["ContentLength"])
    check_object_size(size, settings.limits)
    data = objects.read(image.bucket, image.key, max_bytes=settings.limits.max_bytes)
    if len(data) > settings.limits.max_bytes:
        raise ImageTooLarge(f"{len(data)} bytes read, more than the limit of {settings.limits.max_bytes}")
    checked = validate_image(data, settings.limits, settings.renditions)
    sha256 = hashlib.sha256(data).hexdigest()
    return Validated(
        format=checked.format,
        width=checked.width,
        height=checked.height,
        frames=checked.frames,
        mode=checked.mode,
        bytes=len(data),
        content_type=CONTENT_TYPES.get(checked.format, f"image/{checked.format.lower()}"),
        sha256=sha256,
        duplicate_of=same_bytes(image, sha256, settings),
    )


def same_bytes(image: ImageRef, sha256: str, settings: Settings) -> str | None:
    """The owner's PROCESSED image of this pipeline version with these bytes: the workflow reuses it."""
    return ContentIndex(settings.table_name).same_bytes(
        image.owner, sha256, pipeline_version=settings.pipeline_version, exclude=image.id
    )
