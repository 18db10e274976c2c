"""Pixel budgets per format, derived from the memory of the functions that decode pixels.

One fixed cap for every format (the old 50 MP) was both too small and too large: a JPEG decodes at a reduced
DCT scale whenever the largest rendition allows it (a 200 MP phone JPEG decodes to 12.5 MP for 2048-px
renditions), while a PNG, GIF, WebP, HEIC or AVIF must decode at full size. So the budget is memory: the
decoded pixels times the peak bytes per decoded pixel of that format's path (measured, bench/README.md) must
fit in the smaller of the validate and resize functions' memory, less a reserve. Everything is decided from
the header, before any decode.
"""

from __future__ import annotations

from imgflow.config import Limits, format_label
from imgflow.errors import TooManyPixels
from imgflow.workflow.functions import TASKS

#: The smaller memory of the two functions that decode pixels (validate: strict decode; resize: renditions).
DECODE_MEMORY_MB = min(spec.memory_mb for spec in TASKS if spec.name in ("validate", "resize"))
#: Besides the pixels: Python, Pillow and the codecs (~70 MiB), the upload's bytes (up to 64 MiB, held once),
#: the renditions and their encodings, and headroom for allocator fragmentation.
RESERVE_MB = 256
BUDGET_BYTES = (DECODE_MEMORY_MB - RESERVE_MB) * 2**20

#: Peak resident bytes per decoded pixel, above the process's baseline, of the worst path for that format
#: (validate's strict decode or resize's decode + mode conversion + first resample). Measured as VmHWM of a
#: child running validate, then render, on 12 MP inputs (bench/README.md, "Pixel budgets"), rounded up.
BYTES_PER_PIXEL: dict[str, float] = {
    "JPEG": 7.0,  # of the *DCT-scaled* decode (planar path: one full plane + resampled planes + output)
    "MPO": 7.0,
    "PNG": 12.0,  # RGBA 4 B/px decoded + RGBA converted from P/LA/tRNS + resample (measured 11.1)
    "GIF": 12.0,  # P 1 B/px + RGBA 4 B/px + resample
    "WEBP": 12.0,
    "HEIF": 12.0,  # libheif's YCbCr planes and interleaved RGB(A), Pillow's copy, resample
    "AVIF": 12.0,
    "TIFF": 16.0,  # not measured: kept below the others on purpose
    "BMP": 12.0,
}
#: libjpeg keeps every DCT coefficient of a progressive JPEG (2 bytes per component sample), at any scale.
JPEG_COEFFICIENT_BYTES = 2
#: JPEG's entropy decode costs time at full size even when the output is DCT-scaled (~1 s per 100 MP):
#: at most 16384 x 16384.
JPEG_MAX_PIXELS = 16384 * 16384


def megapixels(pixels: float) -> str:
    return f"{pixels / 1e6:.1f} MP"


def pixel_limit(fmt: str, limits: Limits, *, reduction: float = 1, coefficient_bytes: float = 0.0) -> int:
    """Most pixels (of the stored image) ``fmt`` may have, decoded at 1/``reduction`` scale.

    ``coefficient_bytes``: bytes per stored pixel held at full size whatever the scale (progressive JPEG).
    """
    per_pixel = BYTES_PER_PIXEL.get(fmt, max(BYTES_PER_PIXEL.values())) / reduction**2 + coefficient_bytes
    limit = int(BUDGET_BYTES / per_pixel)
    if fmt in ("JPEG", "MPO"):
        limit = min(limit, JPEG_MAX_PIXELS)
    if limits.max_pixels:
        limit = min(limit, limits.max_pixels)
    return limit


def check_pixels(
    fmt: str,
    size: tuple[int, int],
    limits: Limits,
    *,
    reduction: float = 1,
    coefficient_bytes: float = 0.0,
    note: str = "",
) -> None:
    """``TooManyPixels`` with a message for people when ``size`` is over ``fmt``'s budget."""
    width, height = size
    limit = pixel_limit(fmt, limits, reduction=reduction, coefficient_bytes=coefficient_bytes)
    if width * height > limit:
        detail = f" ({note})" if note else ""
        raise TooManyPixels(
            f"{width}x{height} = {megapixels(width * height)}, the limit for {format_label(fmt)}{detail} "
            f"is {megapixels(limit)}"
        )
