"""Safe opening of untrusted image bytes, shared by validate, extract_meta and resize.

* Only the allow-listed Pillow plugins ever look at the bytes (``Image.open(..., formats=ALLOWED_FORMATS)``);
  EPS (Ghostscript), PSD, TIFF, SGI, BLP, ... plugins never run.
* The pixel limit is checked from the header, before any decode.
* Whatever Pillow raises on hostile input comes out as one of the named rejections in ``imgflow.errors``.

Rejection rule for bytes Pillow cannot identify: the exact signature of an allowed format (PNG, JPEG, GIF,
WebP) -> ``CorruptImage`` (it claims to be one of ours and is broken), or ``TruncatedImage`` when the bytes
also stop before the format's end marker; the signature of another image format
(TIFF, HEIF/AVIF, EPS, PSD, SVG, BMP, ...) -> ``UnsupportedFormat``; anything else -> ``InvalidImage``.

Nothing here mutates global state (no ``Image.MAX_IMAGE_PIXELS``, no warnings filters): the limit check is
local, and Pillow's own decompression-bomb guard (warning above 89.5 MP, error above 179 MP) stays as a
backstop above it; if a warnings filter turns that warning into an exception, it maps to ``TooManyPixels``.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image, ImageFile, UnidentifiedImageError

from imgflow.config import ALLOWED_FORMATS
from imgflow.errors import (
    CorruptImage,
    EmptyFile,
    ImageRejected,
    InvalidImage,
    TooManyPixels,
    TruncatedImage,
    UnsupportedFormat,
)

#: What Pillow raises on hostile input (UnidentifiedImageError is an OSError; zlib.error from PNG chunks).
PILLOW_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    IndexError,
    KeyError,
    TypeError,
    EOFError,
    struct.error,
    zlib.error,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)

ORIENTATION_TAG = 0x0112

#: EXIF orientation -> the transpose that displays the stored pixels upright (as ``ImageOps.exif_transpose``).
TRANSPOSE: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

_ALLOWED_SIGNATURES: tuple[bytes, ...] = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")

_OTHER_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "BigTIFF"),
    (b"MM\x00+", "BigTIFF"),
    (b"BM", "BMP"),
    (b"8BPS", "PSD"),
    (b"%!PS", "EPS"),
    (b"\xc5\xd0\xd3\xc6", "EPS"),
    (b"%PDF-", "PDF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"\x00\x00\x02\x00", "CUR"),
    (b"icns", "ICNS"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL"),
    (b"qoif", "QOI"),
    (b"DDS ", "DDS"),
    (b"BLP1", "BLP"),
    (b"BLP2", "BLP"),
    (b"\x01\xda", "SGI"),
    (b"gimp xcf", "XCF"),
    (b"#?RADIANCE", "Radiance HDR"),
    (b"v/1\x01", "OpenEXR"),
    (b"farbfeld", "farbfeld"),
    (b"\xd7\xcd\xc6\x9a", "WMF"),
    (b"Y\xa6j\x95", "Sun raster"),
)

#: ISO-BMFF major/compatible brands of still-image formats (HEIF/HEIC, AVIF).
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
_PNM = re.compile(rb"P[1-7F]\s")
_SVG = re.compile(rb"<svg[\s>]", re.IGNORECASE)


def sniff_other_format(data: bytes) -> str | None:
    """Name of a known image format outside the allow-list, judged by magic bytes only (cheap)."""
    head = data[:64]
    for magic, name in _OTHER_SIGNATURES:
        if head.startswith(magic):
            return name
    if head[4:8] == b"ftyp":
        box_len = int.from_bytes(head[:4], "big")
        brands = {head[8:12]} | {data[i : i + 4] for i in range(16, min(box_len, 64), 4)}
        if brands & _HEIF_BRANDS:
            return "HEIF/AVIF"
    if _PNM.match(head):
        return "PNM"
    if _SVG.search(data[:4096]):
        return "SVG"
    return None


def check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    """Reject a zero dimension (``CorruptImage``) or more than ``max_pixels`` (``TooManyPixels``)."""
    width, height = size
    if width <= 0 or height <= 0:
        raise CorruptImage(f"zero-sized image {width}x{height}")
    if width * height > max_pixels:
        raise TooManyPixels(f"{width}x{height} = {width * height} pixels, over the limit of {max_pixels}")


def as_rejection(exc: BaseException) -> ImageRejected:
    """The named rejection for an exception Pillow raised while opening, seeking or decoding."""
    if isinstance(exc, ImageRejected):
        return exc
    if isinstance(exc, Image.DecompressionBombError | Image.DecompressionBombWarning):
        return TooManyPixels(str(exc))
    message = f"{type(exc).__name__}: {exc}"
    # struct.error: Pillow unpacking a header field from a short read.
    if isinstance(exc, EOFError | struct.error) or "truncated" in message.lower():
        return TruncatedImage(message)
    return CorruptImage(message)


@contextmanager
def rejecting() -> Iterator[None]:
    """Re-raise what Pillow raises on hostile input inside the block as the matching named rejection."""
    try:
        yield
    except ImageRejected:
        raise
    except PILLOW_ERRORS as exc:
        raise as_rejection(exc) from exc


def _cut_short(data: bytes) -> bool:
    """An allowed format's bytes that stop before its end marker (IEND, EOI, trailer, RIFF length)."""
    if data[:4] == b"RIFF":
        return int.from_bytes(data[4:8], "little") + 8 > len(data)
    if data.startswith(b"\x89PNG"):
        return (data[12:16] == b"IHDR" or len(data) < 16) and b"IEND" not in data
    if data.startswith(b"\xff\xd8"):
        return b"\xff\xd9" not in data
    return data.startswith(b"GIF") and len(data) < 13  # shorter than the GIF header


def _unidentified(data: bytes) -> ImageRejected:
    if data.startswith(_ALLOWED_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        if _cut_short(data):
            return TruncatedImage("ends before the header is complete")
        return CorruptImage("has the signature of an allowed format, but Pillow cannot read it")
    other = sniff_other_format(data)
    if other:
        return UnsupportedFormat(f"{other} is not an accepted format")
    return InvalidImage("not an image")


def open_image(data: bytes, *, max_pixels: int) -> ImageFile.ImageFile:
    """Open untrusted bytes with the allow-listed plugins only and check the header's pixel count.

    Nothing is decoded yet (Pillow opens lazily). Raises ``EmptyFile``, ``InvalidImage``,
    ``UnsupportedFormat``, ``CorruptImage``, ``TruncatedImage`` or ``TooManyPixels``.
    """
    if not data:
        raise EmptyFile("zero-length upload")
    try:
        im = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except UnidentifiedImageError as exc:
        raise _unidentified(data) from exc
    except PILLOW_ERRORS as exc:
        if data[:4] == b"RIFF" and _cut_short(data):  # libwebp only says "could not create decoder object"
            raise TruncatedImage(f"WebP shorter than its RIFF header declares: {exc}") from exc
        raise as_rejection(exc) from exc
    try:
        check_pixels(im.size, max_pixels)
    except ImageRejected:
        im.close()
        raise
    return im


def seek_checked(im: Image.Image, frame: int, max_pixels: int) -> None:
    """Seek to ``frame`` and re-check the pixel limit (GIF frames can grow the canvas, MPO frames differ)."""
    with rejecting():
        im.seek(frame)
    check_pixels(im.size, max_pixels)


def frame_count(im: Image.Image) -> int:
    """Number of frames from the header/chunk structure (no pixel decode); a named rejection if unreadable."""
    with rejecting():
        return max(1, int(getattr(im, "n_frames", 1)))


def png_chunks(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(type, data offset, declared length) of each PNG chunk up to IEND, from the headers alone."""
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        yield kind, pos + 8, length
        if kind == b"IEND":
            return
        pos += 12 + length


def _png_late_exif(data: bytes) -> bytes | None:
    """An eXIf chunk after IDAT (Pillow's PngImageFile.getexif would decode all pixels to reach it)."""
    for kind, start, length in png_chunks(data):
        if kind == b"eXIf":
            return data[start : start + length]
    return None


def read_exif(im: Image.Image, data: bytes) -> Image.Exif:
    """EXIF of an opened image without decoding pixels (incl. XMP orientation); empty when unparseable."""
    if im.format == "PNG" and "exif" not in im.info:
        late = _png_late_exif(data)
        if late:
            im.info["exif"] = b"Exif\x00\x00" + late
    try:
        # Image.Image.getexif, not PngImageFile.getexif: the latter load()s (decodes) the whole image first.
        return Image.Image.getexif(im)
    except Exception:  # malformed EXIF/XMP must never reject or crash: treat as absent
        return Image.Exif()


def orientation(exif: Image.Exif) -> int | None:
    """EXIF (or XMP, as Pillow surfaces it) orientation 1-8, None when absent or invalid."""
    try:
        value = exif.get(ORIENTATION_TAG)
        if isinstance(value, tuple | list):
            value = value[0]
        value = int(value)  # type: ignore[arg-type]
    except Exception:
        return None
    return value if 1 <= value <= 8 else None


def display_size(size: tuple[int, int], orient: int | None) -> tuple[int, int]:
    """Size as displayed: width and height swap for orientations 5-8."""
    return (size[1], size[0]) if orient in (5, 6, 7, 8) else size
