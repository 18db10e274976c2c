"""Is the upload a safe, supported, fully decodable image? Pure image logic, decided by content only.

Cost: JPEG/MPO frames are decoded at 1/8 scale (``draft``): libjpeg still entropy-decodes the whole stream,
so truncation and corrupt data are caught, but the IDCT and colour conversion run on 1/64 of the pixels and
no full-resolution buffer is allocated. PNG/GIF/WebP have no reduced decode: every frame is decoded fully.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageFile

from imgflow.config import Limits
from imgflow.errors import EmptyFile, ImageTooLarge, TooManyPixels, TruncatedImage
from imgflow.imaging import frame_count, open_image, png_chunks, rejecting, seek_checked

#: Animated images: all frames together may decode at most this many times ``max_pixels``
#: (each frame alone is held to ``max_pixels``); bounds the CPU one upload can cost.
FRAME_BUDGET = 10


@dataclass(frozen=True)
class ValidatedImage:
    """What validation learned: format as Pillow reports it (e.g. "MPO"), size as stored (frame 0)."""

    format: str
    width: int
    height: int
    frames: int
    mode: str


def check_object_size(size: int, limits: Limits) -> None:
    """Reject from the object's byte size alone (S3 HEAD), before downloading it."""
    if size <= 0:
        raise EmptyFile("zero-length upload")
    if size > limits.max_bytes:
        raise ImageTooLarge(f"{size} bytes, more than the limit of {limits.max_bytes}")


def validate_image(data: bytes, limits: Limits) -> ValidatedImage:
    """Open with the allowed plugins only, check pixel limits per frame and decode every frame strictly.

    Raises a subclass of ``ImageRejected`` (its ``reason`` is the rejection code).
    """
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Someone flipped Pillow's process-wide leniency: truncated uploads would pass as valid.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set; refusing to validate leniently")
    check_object_size(len(data), limits)
    im = open_image(data, max_pixels=limits.max_pixels)
    with im:
        result = ValidatedImage(im.format or "", im.width, im.height, frame_count(im), im.mode)
        if result.format == "PNG":
            _verify_png(data)
        budget = FRAME_BUDGET * limits.max_pixels
        for frame in range(result.frames):
            if frame:
                seek_checked(im, frame, limits.max_pixels)
            budget -= im.width * im.height
            if budget < 0:
                raise TooManyPixels(f"{result.frames} frames decode to more than {FRAME_BUDGET}x the limit")
            _decode(im)
    return result


def _decode(im: ImageFile.ImageFile) -> None:
    with rejecting():
        if im.format in ("JPEG", "MPO"):
            # MPO's seek() keeps the previous frame's draft scale; clear it so draft() applies to this frame.
            im.decoderconfig = ()
            im.draft(im.mode, (max(1, im.width // 8), max(1, im.height // 8)))
        im.load()


def _verify_png(data: bytes) -> None:
    """Check every chunk's CRC (a bad IDAT CRC, PngSuite xcsn0g01, decodes fine: only verify() notices)
    and that the IEND chunk is complete (verify() and load() both stop before IEND's CRC)."""
    with rejecting(), Image.open(io.BytesIO(data), formats=("PNG",)) as fresh:
        fresh.verify()
    end = [start + length + 4 for kind, start, length in png_chunks(data) if kind == b"IEND"]
    if not end or end[0] > len(data):
        raise TruncatedImage("PNG ends before a complete IEND chunk")
