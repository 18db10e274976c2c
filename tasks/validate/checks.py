"""Is the upload a safe, supported, fully decodable image? Pure image logic, decided by content only.

Cost: JPEG/MPO frames are decoded at 1/8 scale (``draft``): libjpeg still entropy-decodes the whole stream,
so truncation and corrupt data are caught, but the IDCT and colour conversion run on 1/64 of the pixels and
no full-resolution buffer is allocated. PNG/GIF/WebP/HEIC/AVIF have no reduced decode: every frame is
decoded fully.

Budget: each format's pixel budget (``imgflow.image.budget``) is checked from the header before any decode;
for a JPEG at the DCT scale that resize will use for the largest rendition of the spec (plus, when
progressive, the coefficient buffers libjpeg keeps at full size), so every rejection happens here, never
in resize.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageFile

from imgflow.config import DEFAULT_RENDITIONS, Limits, Rendition, format_label
from imgflow.errors import EmptyFile, ImageTooLarge, TooManyPixels, TruncatedImage
from imgflow.image import budget, jpeg_scale
from imgflow.image.geometry import largest_scale
from imgflow.image.opening import (
    display_size,
    frame_count,
    open_image,
    orientation,
    png_chunks,
    read_exif,
    rejecting,
    seek_checked,
)

#: Animated images: all frames together may decode at most this many times the format's pixel budget
#: (each frame alone is held to the budget); bounds the CPU one upload can cost.
FRAME_BUDGET = 10

#: ... and, past one frame's budget, at most this many decoded pixels per byte of the file. Without it a
#: 170-byte GIF (a 64 MP canvas, ten 1x1 frames: each later frame is composited onto the whole canvas)
#: bought ~2 s of validate CPU. Real animations stay far below (the corpus' densest: 136 px/byte).
FRAME_PIXELS_PER_BYTE = 4096


@dataclass(frozen=True)
class ValidatedImage:
    """What validation learned: format as Pillow reports it (e.g. "MPO"), size as stored (frame 0)."""

    format: str
    width: int
    height: int
    frames: int
    mode: str


def _mb(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def check_object_size(size: int, limits: Limits) -> None:
    """Reject from the object's byte size alone (S3 HEAD), before downloading it."""
    if size <= 0:
        raise EmptyFile("the file is empty (0 bytes)")
    if size > limits.max_bytes:
        raise ImageTooLarge(f"{_mb(size)} ({size} bytes), the limit is {_mb(limits.max_bytes)}")


def jpeg_coefficient_bytes(im: Image.Image) -> float:
    """Bytes per pixel libjpeg holds at full size for a progressive JPEG (2 per component sample), else 0."""
    if not im.info.get("progressive") and not im.info.get("progression"):
        return 0.0
    layers = getattr(im, "layer", None) or [("", 1, 1, 0)] * len(im.getbands())
    h_max = max(layer[1] for layer in layers) or 1
    v_max = max(layer[2] for layer in layers) or 1
    samples = sum(layer[1] * layer[2] for layer in layers) / (h_max * v_max)
    return budget.JPEG_COEFFICIENT_BYTES * samples


def check_decode_budget(im: Image.Image, data: bytes, limits: Limits, spec: Sequence[Rendition]) -> None:
    """A JPEG against its budget at the DCT scale resize will decode it at (other formats: ``open_image``)."""
    if im.format not in ("JPEG", "MPO") or not spec:
        return
    orient = orientation(read_exif(im, data))
    needed = display_size(largest_scale(display_size(im.size, orient), spec), orient)
    eighths = jpeg_scale.eighths_for(im.size, needed)  # the scale resize decodes at
    coefficients = jpeg_coefficient_bytes(im)
    notes = [
        f"decoded at {_fraction(eighths)} scale for these renditions"
        if eighths < 8
        else "decoded at full size"
    ]
    if coefficients:
        notes.append("progressive")
    budget.check_pixels(
        im.format,
        im.size,
        limits,
        reduction=8 / eighths,
        coefficient_bytes=coefficients,
        note=", ".join(notes),
    )


def _fraction(eighths: int) -> str:
    whole = math.gcd(eighths, 8)
    return f"{eighths // whole}/{8 // whole}"


def validate_image(
    data: bytes, limits: Limits, renditions: Sequence[Rendition] = DEFAULT_RENDITIONS
) -> ValidatedImage:
    """Open with the allowed plugins only, check the pixel budget per frame and decode every frame strictly.

    Raises a subclass of ``ImageRejected`` (its ``reason`` is the rejection code, its message for people).
    """
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Someone flipped Pillow's process-wide leniency: truncated uploads would pass as valid.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set; refusing to validate leniently")
    check_object_size(len(data), limits)
    im = open_image(data, limits)
    with im:
        result = ValidatedImage(im.format or "", im.width, im.height, frame_count(im), im.mode)
        check_decode_budget(im, data, limits, renditions)
        if result.format == "PNG":
            _verify_png(data)
        total = frame_pixel_limit(result.format, len(data), limits)
        decoded = 0
        for frame in range(result.frames):
            if frame:
                seek_checked(im, frame, limits)
            decoded += im.width * im.height
            if decoded > total:
                raise TooManyPixels(
                    f"{result.frames} frames of {im.width}x{im.height} from {len(data)} bytes: more than "
                    f"{budget.megapixels(total)} in all, the limit for this {format_label(result.format)} "
                    f"({FRAME_BUDGET}x one frame's limit, and {FRAME_PIXELS_PER_BYTE} pixels per byte "
                    "past one frame)"
                )
            _decode(im)
    return result


def frame_pixel_limit(fmt: str, size: int, limits: Limits) -> int:
    """Most pixels all frames of a ``size``-byte ``fmt`` file may decode to together."""
    one = budget.pixel_limit(fmt, limits)
    return min(FRAME_BUDGET * one, one + FRAME_PIXELS_PER_BYTE * size)


def _decode(im: ImageFile.ImageFile) -> None:
    with rejecting(im.format):
        if im.format in ("JPEG", "MPO"):
            # MPO's seek() keeps the previous frame's draft scale; clear it so draft() applies to this frame.
            im.decoderconfig = ()
            im.draft(im.mode, (max(1, im.width // 8), max(1, im.height // 8)))
        im.load()


def _verify_png(data: bytes) -> None:
    """Check every chunk's CRC (a bad IDAT CRC, PngSuite xcsn0g01, decodes fine: only verify() notices)
    and that the IEND chunk is complete (verify() and load() both stop before IEND's CRC)."""
    with rejecting("PNG"), Image.open(io.BytesIO(data), formats=("PNG",)) as fresh:
        fresh.verify()
    end = [start + length + 4 for kind, start, length in png_chunks(data) if kind == b"IEND"]
    if not end or end[0] > len(data):
        raise TruncatedImage("the PNG file ends before its IEND chunk is complete")
