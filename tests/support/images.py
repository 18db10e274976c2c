"""The one image factory of the tests: a gradient picture, any format's bytes of a picture, a JPEG."""

from __future__ import annotations

import io
import os

import pillow_heif
from PIL import Image

DEFAULT_SIZE = (640, 480)


def gradient(size: tuple[int, int] = DEFAULT_SIZE) -> Image.Image:
    """An RGB picture of a left-to-right grey ramp: compresses like a photo, cheap to make."""
    return Image.linear_gradient("L").resize(size).convert("RGB")


def encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    """``im`` saved as ``fmt`` (Pillow's format name; HEIF through pillow-heif) with Pillow's ``params``."""
    if fmt == "HEIF":
        pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    im.save(buffer, fmt, **params)
    return buffer.getvalue()


def jpeg_bytes(size: tuple[int, int] = DEFAULT_SIZE, **params: object) -> bytes:
    """A quality-85 JPEG of ``gradient(size)`` (``params``: more of Pillow's, e.g. ``exif=``).

    Different bytes on every call (a random comment): the same bytes uploaded twice by one owner would be
    an exact duplicate, reused instead of resized.
    """
    return encode(gradient(size), "JPEG", **{"quality": 85, "comment": os.urandom(8).hex(), **params})
