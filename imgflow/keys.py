"""Object keys and image ids: the one place that knows the S3 layout.

Originals: ``<uploads bucket>/<prefix><owner>/<image_id>`` (the only prefix the upload rule matches).
Renditions: ``<renditions bucket>/<owner>/<image_id>/<run>/<name>.<ext>`` (another bucket: they never
re-trigger). ``<run>`` is unique to the execution that wrote them, so a new run never overwrites what the
record points to: it writes beside, the record switches, then the old keys go.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from typing import NamedTuple

_SEGMENT = re.compile(r"[A-Za-z0-9_-]{1,128}")
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
#: Owner recorded for an object whose key the API never handed out.
UNROUTED_OWNER = "_unrouted"


class UploadKey(NamedTuple):
    owner: str
    image_id: str


def new_image_id() -> str:
    """A 26-character, time-ordered, URL-safe id (ULID layout, lower-case Crockford base32)."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def is_valid_segment(value: str) -> bool:
    return isinstance(value, str) and _SEGMENT.fullmatch(value) is not None


def upload_key(owner: str, image_id: str, prefix: str = "uploads/") -> str:
    if not (is_valid_segment(owner) and is_valid_segment(image_id)):
        raise ValueError("owner and image id must be 1-128 characters of [A-Za-z0-9_-]")
    return f"{prefix}{owner}/{image_id}"


def parse_upload_key(key: str, prefix: str = "uploads/") -> UploadKey | None:
    """The owner and image id of an upload key, or None for a key the API never hands out."""
    if not key.startswith(prefix):
        return None
    parts = key[len(prefix) :].split("/")
    if len(parts) != 2 or not all(is_valid_segment(p) for p in parts):
        return None
    return UploadKey(parts[0], parts[1])


def identity_for_key(key: str, prefix: str = "uploads/") -> UploadKey:
    """Like ``parse_upload_key`` but total: a stray key gets a stable id derived from the key."""
    parsed = parse_upload_key(key, prefix)
    if parsed:
        return parsed
    return UploadKey(UNROUTED_OWNER, "x" + hashlib.sha256(key.encode()).hexdigest()[:25])


def run_tag(execution_arn: str) -> str:
    """A short name, unique to one execution, for the folder of the renditions it writes."""
    return hashlib.sha256(execution_arn.encode()).hexdigest()[:16]


def rendition_key(owner: str, image_id: str, name: str, extension: str, run: str) -> str:
    return f"{owner}/{image_id}/{run}/{name}.{extension}"


def run_prefix(owner: str, image_id: str, run: str) -> str:
    """Where one run's renditions of an image are."""
    return f"{owner}/{image_id}/{run}/"


def rendition_prefix(owner: str, image_id: str) -> str:
    return f"{owner}/{image_id}/"
