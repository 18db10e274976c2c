"""Safe opening of untrusted image bytes, shared by validate, extract_meta and resize.

* Only the allow-listed Pillow plugins ever look at the bytes (``Image.open(..., formats=limits.formats)``);
  EPS (Ghostscript), PSD, SGI, BLP, ... plugins never run; TIFF and BMP only when configured.
* HEIC/HEIF is read by pillow-heif (libheif + libde265), registered on first use of a HEIF upload (its import
  stays off the cold start of every other task); AVIF by Pillow's own plugin (libavif).
* The pixel budget of the format (``imgflow.image.budget``) is checked from the header, before any decode.
* Whatever Pillow raises on hostile input comes out as one of the named rejections in ``imgflow.errors``,
  with a message for people.

Rejection rule for bytes Pillow cannot identify: the exact signature of an allowed format (PNG, JPEG, GIF,
WebP, HEIC, AVIF) -> ``CorruptImage`` (it claims to be one of ours and is broken), or ``TruncatedImage`` when
the bytes also stop before the format's end marker; the signature of another image format
(TIFF, EPS, PSD, SVG, BMP, ...) -> ``UnsupportedFormat``; anything else -> ``InvalidImage``.

Orientation: JPEG, PNG, WebP and AVIF pixels are stored as shot and the EXIF orientation (Pillow's AVIF plugin
writes the container's irot/imir transform into it) says how to show them. HEIF is different: libheif applies
the irot/imir transforms while decoding and pillow-heif resets the EXIF orientation to 1 (keeping the value in
``info["original_orientation"]``), so the pixels are upright as decoded and nothing is rotated twice.

One process-wide setting: ``Image.MAX_IMAGE_PIXELS`` is raised to the JPEG budget (Pillow's default error at
179 MP would refuse a 200 MP phone JPEG before our own check, which is per format and stricter elsewhere).
Pillow's guard stays as a backstop above it (an error at twice that).
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image, ImageFile, UnidentifiedImageError

from imgflow.config import Limits, format_label
from imgflow.errors import (
    CorruptImage,
    EmptyFile,
    ImageRejected,
    InvalidImage,
    TooManyPixels,
    TruncatedImage,
    UnsupportedFormat,
)
from imgflow.image import budget

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
    # Pillow's AVIF plugin: "Failed to decode frame 0: Decoding of color planes failed" (found by tests/fuzz).
    RuntimeError,
)

ORIENTATION_TAG = 0x0112

Image.MAX_IMAGE_PIXELS = budget.JPEG_MAX_PIXELS

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
_AVIF_BRANDS = {b"avif", b"avis"}
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"} | _AVIF_BRANDS
#: Signature -> Pillow format id, for telling an allowed format's broken file from an unsupported one.
_ALLOWED_BY_SIGNATURE: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
)
_PNM = re.compile(rb"P[1-7F]\s")
_SVG = re.compile(rb"<svg[\s>]", re.IGNORECASE)


def isobmff_format(data: bytes) -> str | None:
    """ "AVIF" or "HEIF" for an ISO-BMFF still image (its ftyp brands), else None."""
    head = data[:64]
    if head[4:8] != b"ftyp":
        return None
    box_len = int.from_bytes(head[:4], "big")
    brands = {head[8:12]} | {data[i : i + 4] for i in range(16, min(box_len, 64), 4)}
    if head[8:12] in _AVIF_BRANDS or (brands & _AVIF_BRANDS and not brands & {b"heic", b"heix"}):
        return "AVIF"
    return "HEIF" if brands & _HEIF_BRANDS else None


def sniff_format(data: bytes) -> str | None:
    """The format of ``data`` judged by magic bytes only (cheap): a Pillow format id of an allowable format
    ("JPEG", "HEIF", ...), or the name of another image format ("PSD", "SVG", ...); None if unknown."""
    head = data[:64]
    for magic, fmt in _ALLOWED_BY_SIGNATURE:
        if head.startswith(magic):
            return fmt
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    for magic, name in _OTHER_SIGNATURES:
        if head.startswith(magic):
            return name
    isobmff = isobmff_format(data)
    if isobmff:
        return isobmff
    if _PNM.match(head):
        return "PNM"
    if _SVG.search(data[:4096]):
        return "SVG"
    return None


def sniff_other_format(data: bytes) -> str | None:
    """Name of a known image format outside the default allow-list, judged by magic bytes only (cheap)."""
    found = sniff_format(data)
    return None if found in ("JPEG", "PNG", "GIF", "WEBP", "HEIF", "AVIF") else found


def accepted_list(limits: Limits) -> str:
    return ", ".join(dict.fromkeys(format_label(fmt) for fmt in limits.formats))


def unsupported(name: str, limits: Limits) -> UnsupportedFormat:
    return UnsupportedFormat(f"{format_label(name)} is not accepted (accepted: {accepted_list(limits)})")


def check_size(fmt: str, size: tuple[int, int], limits: Limits, **options: float) -> None:
    """Reject a zero dimension (``CorruptImage``) or more pixels than ``fmt``'s budget (``TooManyPixels``).

    JPEG is held to its budget at the smallest DCT scale here; validate checks the scale the renditions need.
    """
    width, height = size
    if width <= 0 or height <= 0:
        raise CorruptImage(f"the {format_label(fmt)} header declares a zero-sized image ({width}x{height})")
    if fmt in ("JPEG", "MPO") and "reduction" not in options:
        options = {**options, "reduction": 8}
    budget.check_pixels(fmt, size, limits, **options)  # type: ignore[arg-type]


_BOMB = re.compile(r"\((\d+) pixels\)")


def as_rejection(exc: BaseException, fmt: str | None = None) -> ImageRejected:
    """The named rejection, with a message for people, for an exception Pillow raised on ``fmt`` bytes."""
    if isinstance(exc, ImageRejected):
        return exc
    label = format_label(fmt) if fmt else "image"
    if isinstance(exc, Image.DecompressionBombError | Image.DecompressionBombWarning):
        found = _BOMB.search(str(exc))
        size = budget.megapixels(int(found.group(1))) if found else "more pixels"
        return TooManyPixels(f"{size} declared, far over every format's limit (a decompression bomb)")
    detail = str(exc) or type(exc).__name__
    # struct.error: Pillow unpacking a header field from a short read.
    if isinstance(exc, EOFError | struct.error) or "truncated" in detail.lower():
        return TruncatedImage(f"the {label} file ends early ({detail})")
    return CorruptImage(f"the {label} data is damaged ({detail})")


@contextmanager
def rejecting(fmt: str | None = None) -> Iterator[None]:
    """Re-raise what Pillow raises on hostile input inside the block as the matching named rejection."""
    try:
        yield
    except ImageRejected:
        raise
    except PILLOW_ERRORS as exc:
        raise as_rejection(exc, fmt) from exc


def _cut_short(data: bytes) -> bool:
    """An allowed format's bytes that stop before its end marker (IEND, EOI, trailer, RIFF length, box)."""
    if data[4:8] == b"ftyp":
        return _boxes_cut_short(data)
    if data[:4] == b"RIFF":
        return int.from_bytes(data[4:8], "little") + 8 > len(data)
    if data.startswith(b"\x89PNG"):
        return (data[12:16] == b"IHDR" or len(data) < 16) and b"IEND" not in data
    if data.startswith(b"\xff\xd8"):
        return b"\xff\xd9" not in data
    return data.startswith(b"GIF") and len(data) < 13  # shorter than the GIF header


def _boxes_cut_short(data: bytes) -> bool:
    """ISO-BMFF (HEIF/AVIF): a top-level box whose declared length runs past the end of the bytes."""
    pos = 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        if size == 1 and pos + 16 <= len(data):
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        elif size == 0:  # to the end of the file
            return False
        if size < 8:
            return False
        pos += size
    return pos != len(data)


def _unidentified(data: bytes, limits: Limits) -> ImageRejected:
    found = sniff_format(data)
    if found in limits.formats:
        label = format_label(found)
        if _cut_short(data):
            return TruncatedImage(f"the {label} file ends before its header is complete")
        return CorruptImage(f"the file has the signature of {label}, but it cannot be read as one")
    if found:
        return unsupported(found, limits)
    return InvalidImage("not an image file: no known image format's signature")


def _ensure_heif() -> None:
    """Register pillow-heif's HEIF opener once (depth and auxiliary images are never decoded)."""
    if "HEIF" not in Image.OPEN:
        from pillow_heif import register_heif_opener

        register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)


def open_image(data: bytes, limits: Limits) -> ImageFile.ImageFile:
    """Open untrusted bytes with the allow-listed plugins only and check the header against the budget.

    Nothing is decoded yet (Pillow opens lazily). Raises ``EmptyFile``, ``InvalidImage``,
    ``UnsupportedFormat``, ``CorruptImage``, ``TruncatedImage`` or ``TooManyPixels``.
    """
    if not data:
        raise EmptyFile("the file is empty (0 bytes)")
    sniffed = sniff_format(data)
    if sniffed == "HEIF" and "HEIF" in limits.formats:
        _ensure_heif()
    formats = [fmt for fmt in limits.formats if fmt in Image.OPEN or fmt != "HEIF"]
    try:
        im = Image.open(io.BytesIO(data), formats=formats)
    except UnidentifiedImageError as exc:
        raise _unidentified(data, limits) from exc
    except PILLOW_ERRORS as exc:
        if data[:4] == b"RIFF" and _cut_short(data):  # libwebp only says "could not create decoder object"
            raise TruncatedImage(f"the WebP file is shorter than its RIFF header declares ({exc})") from exc
        if sniffed in ("HEIF", "AVIF") and _cut_short(data):
            raise TruncatedImage(f"the {format_label(sniffed)} file ends early ({exc})") from exc
        raise as_rejection(exc, sniffed) from exc
    try:
        check_size(im.format or "", im.size, limits)
    except ImageRejected:
        im.close()
        raise
    return im


def seek_checked(im: Image.Image, frame: int, limits: Limits) -> None:
    """Seek to ``frame`` and re-check the budget (GIF frames can grow the canvas, MPO frames differ)."""
    with rejecting(im.format):
        im.seek(frame)
    check_size(im.format or "", im.size, limits)


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


def recorded_orientation(im: Image.Image, exif: Image.Exif) -> int | None:
    """The orientation the file records (as exiftool reads it), also for HEIF where pillow-heif has applied
    it to the pixels and reset the EXIF value to 1."""
    original = im.info.get("original_orientation")
    if isinstance(original, int) and 1 <= original <= 8:
        return original
    return orientation(exif)


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
