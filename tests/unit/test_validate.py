"""validate: generated images and every corpus file get the verdict (and reason) the MANIFESTs give."""

from __future__ import annotations

import io
import random
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageFile

from imgflow.config import Limits
from imgflow.errors import (
    CorruptImage,
    EmptyFile,
    ImageRejected,
    ImageTooLarge,
    InvalidImage,
    TooManyPixels,
    TruncatedImage,
    UnsupportedFormat,
)
from imgflow.image import budget
from tasks.validate.checks import (
    FRAME_BUDGET,
    FRAME_PIXELS_PER_BYTE,
    ValidatedImage,
    check_object_size,
    frame_pixel_limit,
    validate_image,
)
from tests.support.corpus import (
    ALLOWED_BY_DEFAULT,
    exif_camera_files,
    hostile_expectations,
    pngsuite_expectations,
)
from tests.support.images import encode

LIMITS = Limits()


HOSTILE = hostile_expectations()
PNGSUITE = pngsuite_expectations()

#: Reason codes for the key hostile cases (a set where two readings are defensible).
HOSTILE_REASONS: dict[str, set[str]] = {
    "sharp/giant-image.jpg": {"too_many_pixels"},
    "sharp/65536-uint32-limit.png": {"too_many_pixels"},
    "pillow/decompression_bomb.gif": {"too_many_pixels"},
    "pillow/decompression_bomb_extents.gif": {"too_many_pixels"},
    "pillow/eps/non_zero_bb.eps": {"unsupported_format"},
    "pillow/psd-oob-write-overflow.psd": {"unsupported_format"},
    "pillow/oom-225817ca0f8c663be7ab4b9e717b02c661e66834.tif": {"unsupported_format"},
    "pillow/crash-86214e58da443d2b80820cff9677a38a33dcbbca.tif": {"unsupported_format"},
    "pillow/ossfuzz-5730089102868480.sgi": {"unsupported_format"},
    "pillow/timeout-060745d3f534ad6e4128c51d336ea5489182c69d.blp": {"unsupported_format"},
    "sharp/circle.svg": {"unsupported_format"},
    "pillow/test-ole-file.doc": {"invalid_image"},
    "pillow/negative_size.ppm": {"invalid_image", "unsupported_format"},
    "pillow/pngtest_bad.png.bin": {"invalid_image", "corrupt"},
    "pillow/truncated_jpeg.jpg": {"truncated"},
    "sharp/truncated.jpg": {"truncated"},
    "pillow/ultrahdr.jpg": {"truncated"},
    "pillow/truncated_image.png": {"truncated"},
    "sharp/truncated.png": {"truncated"},
    "pillow/truncated_end_chunk.png": {"truncated"},
    "sharp/corrupt-header.jpg": {"truncated", "corrupt"},
    "pillow/broken.png": {"corrupt"},
    "pillow/broken_data_stream.png": {"corrupt"},
    "pillow/unknown_compression_method.png": {"corrupt"},
    "pillow/zero_width.gif": {"corrupt"},
    "pillow/png_decompression_dos.png": {"corrupt"},
}


def verdict(data: bytes, limits: Limits = LIMITS) -> str:
    """ "accept" or the rejection reason code."""
    try:
        validate_image(data, limits)
    except ImageRejected as exc:
        return exc.reason
    return "accept"


# --- generated images ---------------------------------------------------------------------------------


def _picture(mode: str = "RGB", size: tuple[int, int] = (64, 48)) -> Image.Image:
    im = Image.new("RGB", size, (200, 40, 30))
    for x in range(size[0]):
        im.putpixel((x, x % size[1]), (0, 0, 255))
    return im.convert(mode)


def sample(fmt: str, im: Image.Image | None = None, **params: object) -> bytes:
    """``im`` (default: ``_picture()``) encoded as ``fmt``."""
    return encode(im or _picture(), fmt, **params)


def animated(fmt: str, count: int = 3, size: tuple[int, int] = (64, 48)) -> bytes:
    frames = [Image.new("RGB", size, (40 * i % 256, 255 - 20 * i % 256, 7 * i % 256)) for i in range(count)]
    buffer = io.BytesIO()
    frames[0].save(buffer, fmt, save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def gif_with_far_frame(x: int, y: int) -> bytes:
    """Two 1x1 frames; the second placed at (x, y), which grows the canvas only when Pillow seeks to it."""
    frame = b"\x02\x02D\x01\x00"  # LZW min code size 2, one sub-block, terminator
    header = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    first = b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + frame
    second = b"," + struct.pack("<HHHHB", x, y, 1, 1, 0) + frame
    return header + first + second + b";"


def gif_of_dots(width: int, height: int, count: int) -> bytes:
    """A ``width`` x ``height`` canvas with ``count`` 1x1 frames: ~15 bytes per frame of the whole canvas."""
    frame = b"\x02\x02D\x01\x00"
    header = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    body = b"".join(b"," + struct.pack("<HHHHB", i, 0, 1, 1, 0) + frame for i in range(count))
    return header + body + b";"


def png_with_bad_idat_crc() -> bytes:
    data = bytearray(sample("PNG"))
    idat = data.index(b"IDAT")
    (length,) = struct.unpack(">I", data[idat - 4 : idat])
    crc = idat + 4 + length
    data[crc : crc + 4] = struct.pack(">I", (zlib.crc32(bytes(data[idat:crc])) + 1) & 0xFFFFFFFF)
    return bytes(data)


@pytest.mark.parametrize(
    ("fmt", "data", "expected"),
    [
        ("JPEG", sample("JPEG"), ValidatedImage("JPEG", 64, 48, 1, "RGB")),
        ("JPEG L", sample("JPEG", _picture("L")), ValidatedImage("JPEG", 64, 48, 1, "L")),
        ("JPEG CMYK", sample("JPEG", _picture("CMYK")), ValidatedImage("JPEG", 64, 48, 1, "CMYK")),
        ("progressive JPEG", sample("JPEG", progressive=True), ValidatedImage("JPEG", 64, 48, 1, "RGB")),
        ("PNG", sample("PNG"), ValidatedImage("PNG", 64, 48, 1, "RGB")),
        ("PNG RGBA", sample("PNG", _picture("RGBA")), ValidatedImage("PNG", 64, 48, 1, "RGBA")),
        ("PNG 16-bit", sample("PNG", _picture("I;16")), ValidatedImage("PNG", 64, 48, 1, "I;16")),
        ("GIF", sample("GIF"), ValidatedImage("GIF", 64, 48, 1, "P")),
        ("WebP", sample("WEBP"), ValidatedImage("WEBP", 64, 48, 1, "RGB")),
        ("WebP lossless", sample("WEBP", lossless=True), ValidatedImage("WEBP", 64, 48, 1, "RGB")),
        ("APNG", animated("PNG"), ValidatedImage("PNG", 64, 48, 3, "RGB")),
        ("animated GIF", animated("GIF"), ValidatedImage("GIF", 64, 48, 3, "P")),
        ("animated WebP", animated("WEBP"), ValidatedImage("WEBP", 64, 48, 3, "RGB")),
        ("MPO", animated("MPO", 2), ValidatedImage("MPO", 64, 48, 2, "RGB")),
        ("1x1 JPEG", sample("JPEG", _picture("RGB", (1, 1))), ValidatedImage("JPEG", 1, 1, 1, "RGB")),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_generated_images_are_accepted(fmt: str, data: bytes, expected: ValidatedImage) -> None:
    assert validate_image(data, LIMITS) == expected


@pytest.mark.parametrize(
    "data",
    [
        sample("JPEG"),
        sample("JPEG", progressive=True),
        sample("PNG"),
        animated("PNG"),
        sample("GIF"),
        animated("GIF"),
        sample("WEBP"),
        animated("WEBP"),
        animated("MPO", 2),
    ],
    ids=["jpeg", "progressive-jpeg", "png", "apng", "gif", "animated-gif", "webp", "animated-webp", "mpo"],
)
@pytest.mark.parametrize("keep", [0.3, 0.7])
def test_truncated_copies_are_rejected_as_truncated(data: bytes, keep: float) -> None:
    assert verdict(data[: int(len(data) * keep)]) == "truncated"


def test_png_missing_the_end_of_iend_is_truncated() -> None:
    assert verdict(sample("PNG")[:-2]) == "truncated"


def test_gif_missing_only_its_trailer_is_accepted() -> None:
    # All pixel data present (browsers show it); only the 1-byte trailer is gone.
    assert verdict(sample("GIF")[:-1]) == "accept"


def test_bad_idat_crc_is_caught_by_verify() -> None:
    assert verdict(png_with_bad_idat_crc()) == "corrupt"


@pytest.mark.parametrize("offset", [5, 8, 25])
def test_corrupt_huffman_table_is_corrupt(offset: int) -> None:
    # (libjpeg only warns about junk inside the entropy-coded data; Pillow, like djpeg, decodes through it.)
    data = bytearray(sample("JPEG", _picture("RGB", (256, 256))))
    dht = data.index(b"\xff\xc4")
    data[dht + offset : dht + offset + 3] = b"\xff\xff\xff"
    assert verdict(bytes(data)) == "corrupt"


def test_corrupt_scan_header_is_corrupt() -> None:
    data = bytearray(sample("JPEG", _picture("RGB", (256, 256))))
    data[data.index(b"\xff\xda") + 5] = 0x77  # Huffman table selectors that were never defined
    assert verdict(bytes(data)) == "corrupt"


def test_empty_file() -> None:
    with pytest.raises(EmptyFile):
        validate_image(b"", LIMITS)


def test_too_many_bytes() -> None:
    with pytest.raises(ImageTooLarge):
        validate_image(sample("PNG"), Limits(max_bytes=10, max_pixels=LIMITS.max_pixels))


@pytest.mark.parametrize("fmt", ["TIFF", "BMP", "PPM", "ICO", "PDF", "EPS", "JPEG2000"])
def test_other_formats_are_unsupported(fmt: str) -> None:
    if fmt == "EPS":
        data = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"
    else:
        data = sample(fmt, _picture("RGB"))
    with pytest.raises(UnsupportedFormat):
        validate_image(data, LIMITS)


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>',
        b"8BPS\x00\x01" + bytes(40),
    ],
    ids=["svg", "psd"],
)
def test_other_formats_by_magic_are_unsupported(data: bytes) -> None:
    assert verdict(data) == "unsupported_format"


@pytest.mark.parametrize(
    "data",
    [random.Random(7).randbytes(4096), b"hello, world\n" * 50, b"\x00" * 100, b"PK\x03\x04" + bytes(60)],
    ids=["random", "text", "zeros", "zip"],
)
def test_junk_is_invalid(data: bytes) -> None:
    with pytest.raises(InvalidImage) as info:
        validate_image(data, LIMITS)
    assert type(info.value) is InvalidImage


@pytest.mark.parametrize(
    "signature", [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"RIFF\x04\x00\x00\x00WEBP"]
)
def test_allowed_signature_with_junk_is_corrupt_or_truncated(signature: bytes) -> None:
    assert verdict(signature + b"\x00\x01garbage") in {"corrupt", "truncated"}


def test_pixel_limit_from_header() -> None:
    data = sample("PNG", _picture("RGB", (100, 100)))
    assert verdict(data, Limits(max_pixels=10_000)) == "accept"
    with pytest.raises(TooManyPixels):
        validate_image(data, Limits(max_pixels=9_999))


def test_pixel_limit_checked_before_decoding() -> None:
    # 30000x30000 solid PNG: a few hundred KiB compressed, 900 MP (3.6 GB) decoded; must fail at once.
    raw = zlib.compress(b"\x00" * (30000 * 3 + 1), 9)
    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
    with pytest.raises(TooManyPixels):
        validate_image(data, LIMITS)


def test_later_gif_frame_growing_past_the_limit_is_rejected() -> None:
    # 9000x9000 = 81 MP: below Pillow's own bomb warning (89.5 MP), so only our per-frame check catches it.
    data = gif_with_far_frame(8999, 8999)
    assert verdict(gif_with_far_frame(3, 3)) == "accept"
    with pytest.raises(TooManyPixels):
        validate_image(data, LIMITS)


def test_frame_budget_bounds_total_decode_work() -> None:
    limits = Limits(max_pixels=64 * 48)
    assert verdict(animated("GIF", FRAME_BUDGET), limits) == "accept"
    assert verdict(animated("GIF", FRAME_BUDGET + 1), limits) == "too_many_pixels"


def test_a_few_bytes_cannot_buy_seconds_of_frame_decoding() -> None:
    # 170 bytes, 10 frames of a 64 MP canvas: inside 10x the GIF budget, but each frame costs ~0.2 s.
    assert verdict(gif_of_dots(8000, 8000, 1)) == "accept"
    with pytest.raises(TooManyPixels, match=r"10 frames of 8000x8000 from 170 bytes: .*pixels per byte"):
        validate_image(gif_of_dots(8000, 8000, 10), LIMITS)
    # The same frames on a small canvas are an ordinary animation.
    assert verdict(gif_of_dots(500, 500, 10)) == "accept"


def test_frame_pixel_limit_grows_with_the_file_up_to_ten_frames() -> None:
    one = budget.pixel_limit("GIF", LIMITS)
    assert frame_pixel_limit("GIF", 100, LIMITS) == one + 100 * FRAME_PIXELS_PER_BYTE
    assert frame_pixel_limit("GIF", 10 * 2**20, LIMITS) == FRAME_BUDGET * one


def test_refuses_to_run_leniently(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError):
        validate_image(sample("JPEG"), LIMITS)


def test_truncated_jpeg_caught_by_reduced_decode() -> None:
    # validate decodes JPEG at 1/8 scale: the whole entropy-coded stream must still be read.
    data = sample("JPEG", _picture("RGB", (2000, 1600)), quality=95)
    assert verdict(data) == "accept"
    assert verdict(data[:-200]) == "truncated"


@pytest.mark.parametrize(("size", "error"), [(0, EmptyFile), (LIMITS.max_bytes + 1, ImageTooLarge)])
def test_check_object_size_rejects(size: int, error: type[ImageRejected]) -> None:
    with pytest.raises(error):
        check_object_size(size, LIMITS)


@pytest.mark.parametrize("size", [1, LIMITS.max_bytes])
def test_check_object_size_accepts(size: int) -> None:
    check_object_size(size, LIMITS)


def test_rejection_classes_keep_their_reason_codes() -> None:
    assert (CorruptImage.reason, TruncatedImage.reason, UnsupportedFormat.reason) == (
        "corrupt",
        "truncated",
        "unsupported_format",
    )


# --- corpus -------------------------------------------------------------------------------------------


def test_manifests_parse(corpus: Path) -> None:
    assert len(HOSTILE) == 67
    assert sorted(HOSTILE.values()).count("reject") == 28 - len(ALLOWED_BY_DEFAULT)
    assert len(PNGSUITE) == 176
    assert sorted(PNGSUITE.values()).count("corrupt") == 14
    assert set(PNGSUITE) == {p.name for p in (corpus / "pngsuite").glob("*.png")}


@pytest.mark.parametrize("name", sorted(HOSTILE) or ["-"])
def test_hostile_file_gets_its_manifest_verdict(corpus: Path, name: str) -> None:
    got = verdict((corpus / "hostile" / name).read_bytes())
    if HOSTILE[name] == "accept":
        assert got == "accept"
    else:
        assert got != "accept"
        assert got in HOSTILE_REASONS.get(name, {got})


@pytest.mark.parametrize("name", sorted(PNGSUITE) or ["-"])
def test_pngsuite_file_gets_its_manifest_verdict(corpus: Path, name: str) -> None:
    got = verdict((corpus / "pngsuite" / name).read_bytes())
    assert (got == "accept") == (PNGSUITE[name] == "valid"), got


@pytest.mark.parametrize("name", exif_camera_files("jpg"))
def test_exif_camera_jpegs_are_accepted(corpus: Path, name: str) -> None:
    result = validate_image((corpus / "exif-camera" / name).read_bytes(), LIMITS)
    assert result.format == "JPEG"


@pytest.mark.parametrize("name", exif_camera_files("heic"))
def test_exif_camera_heic_is_accepted(corpus: Path, name: str) -> None:
    result = validate_image((corpus / "exif-camera" / name).read_bytes(), LIMITS)
    assert (result.format, result.width, result.height) == ("HEIF", 2566, 3313)


@pytest.mark.parametrize("name", exif_camera_files("tiff"))
def test_exif_camera_tiff_is_unsupported_unless_configured(corpus: Path, name: str) -> None:
    data = (corpus / "exif-camera" / name).read_bytes()
    with pytest.raises(UnsupportedFormat) as info:
        validate_image(data, LIMITS)
    assert str(info.value) == "TIFF is not accepted (accepted: JPEG, PNG, GIF, WebP, HEIC, AVIF)"
    assert validate_image(data, Limits(formats=(*LIMITS.formats, "TIFF"))).format == "TIFF"


def test_mpo_keeps_its_format_and_frames(corpus: Path) -> None:
    result = validate_image((corpus / "hostile" / "pillow" / "sugarshack.mpo").read_bytes(), LIMITS)
    assert (result.format, result.frames) == ("MPO", 2)
