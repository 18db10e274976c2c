"""Handing out uploads: an image id, its PENDING record, and a presigned POST pinned to one key.

Shared by the API (``POST /uploads``) and the local demo, so both go through the same code path.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from typing import Any

from imgflow import aws, keys
from imgflow.config import Settings
from imgflow.records import ImageRepository

#: Content types an upload may declare. The content decides in the end (validate never trusts this);
#: octet-stream lets a client send a file it cannot type, to get a verdict and a record for it.
ALLOWED_CONTENT_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/heic",
        "image/heif",
        "image/avif",
        "application/octet-stream",
    }
)
# Python 3.11's table lacks the phone formats.
for _type, _ext in (("image/heic", ".heic"), ("image/heif", ".heif"), ("image/avif", ".avif")):
    mimetypes.add_type(_type, _ext)
UPLOAD_EXPIRES_S = 900


@dataclass(frozen=True)
class PresignedUpload:
    image_id: str
    key: str
    url: str
    fields: dict[str, str]
    expires_in: int


def content_type_for(filename: str) -> str:
    """The type a client would declare for ``filename`` (octet-stream when not an allowed image type)."""
    guessed, _ = mimetypes.guess_type(filename)
    return guessed if guessed in ALLOWED_CONTENT_TYPES else "application/octet-stream"


def presign_upload(
    *,
    owner: str,
    filename: str,
    content_type: str,
    size: int | None,
    settings: Settings,
    s3: Any | None = None,
    expires_in: int = UPLOAD_EXPIRES_S,
) -> PresignedUpload:
    """Create the PENDING record and a presigned POST whose policy pins key, type and size range."""
    if content_type not in ALLOWED_CONTENT_TYPES:
        raise ValueError(f"content type {content_type!r} is not accepted")
    image_id = keys.new_image_id()
    key = keys.upload_key(owner, image_id, settings.uploads_prefix)
    ImageRepository(settings.table_name).create_pending(
        image_id=image_id, owner=owner, filename=filename, content_type=content_type, size=size
    )
    post = (s3 or aws.presign_client()).generate_presigned_post(
        Bucket=settings.uploads_bucket,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[
            {"Content-Type": content_type},
            ["content-length-range", 1, settings.limits.max_bytes],
        ],
        ExpiresIn=expires_in,
    )
    return PresignedUpload(image_id, key, post["url"], post["fields"], expires_in)
