"""extract_meta: header facts and EXIF agree with exiftool; hostile metadata never raises; no pixel decode."""

from __future__ import annotations

import io
import json
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageFile, WebPImagePlugin
from PIL.TiffImagePlugin import IFDRational

from imgflow.config import Limits
from imgflow.errors import ImageRejected
from tasks.extract_meta.metadata import (
    JPEG_HEADER_BYTES,
    MAX_STRING,
    extract_metadata,
    jpeg_headers_complete,
)
from tests.support.images import encode
from tests.support.paths import CORPUS

LIMITS = Limits()
EXIF_KEYS = {
    "make",
    "model",
    "lens_model",
    "taken_at",
    "exposure_time",
    "f_number",
    "iso",
    "focal_length",
    "orientation",
    "gps",
}


def _display_sizes() -> dict[str, tuple[int, int]]:
    """exif-camera/MANIFEST.md: path -> display size."""
    path = CORPUS / "exif-camera" / "MANIFEST.md"
    if not path.is_file():
        return {}
    rows = re.findall(r"^\| `(jpg/[^`]+)` \|.*?display size (\d+)x(\d+)", path.read_text(), re.M)
    sizes = {name: (int(w), int(h)) for name, w, h in rows}
    heic = CORPUS / "exif-camera" / "expected" / "heic"
    for expected in heic.glob("*.json"):  # HEIC is accepted now: its display size is exiftool's ImageSize
        width, height = json.loads(expected.read_text())[0]["Composite:ImageSize"].split()
        sizes[f"heic/{expected.stem}"] = (int(width), int(height))
    return sizes


DISPLAY = _display_sizes()
CAMERA_FILES = [f"exif-camera/{name}" for name in sorted(DISPLAY)]
PERF_FILES = (
    sorted(str(p.relative_to(CORPUS)) for p in (CORPUS / "perf").rglob("*.jpg")) if CORPUS.is_dir() else []
)
HOSTILE_FILES = (
    sorted(
        str(p.relative_to(CORPUS))
        for p in (CORPUS / "hostile").rglob("*")
        if p.is_file() and "expected" not in p.parts and p.suffix not in {".md", ".txt"}
    )
    if CORPUS.is_dir()
    else []
)


def meta(data: bytes) -> dict[str, Any]:
    return extract_metadata(data, LIMITS)


def exiftool(corpus: Path, rel: str) -> dict[str, Any]:
    folder, _, rest = rel.partition("/")
    return json.loads((corpus / folder / "expected" / f"{rest}.json").read_text())[0]


def _iso(value: Any) -> str | None:
    match = re.fullmatch(r"(\d{4}):(\d\d):(\d\d) (\d\d:\d\d:\d\d)", str(value).strip())
    if not match or match[1] == "0000":
        return None
    return f"{match[1]}-{match[2]}-{match[3]}T{match[4]}"


def expected_taken_at(tool: dict[str, Any]) -> str | None:
    for key, offset in (
        ("ExifIFD:DateTimeOriginal", "ExifIFD:OffsetTimeOriginal"),
        ("ExifIFD:CreateDate", "ExifIFD:OffsetTimeDigitized"),
        ("IFD0:ModifyDate", "ExifIFD:OffsetTime"),
    ):
        stamp = _iso(tool.get(key))
        if stamp:
            return stamp + str(tool.get(offset, ""))
    return None


def assert_agrees_with_exiftool(result: dict[str, Any], tool: dict[str, Any]) -> None:
    exif = result["exif"]
    for ours, theirs in (("make", "IFD0:Make"), ("model", "IFD0:Model"), ("lens_model", "ExifIFD:LensModel")):
        if theirs in tool:
            assert exif[ours] == (str(tool[theirs]).strip() or None), ours
    assert exif["taken_at"] == expected_taken_at(tool)
    for ours, theirs in (
        ("exposure_time", "ExifIFD:ExposureTime"),
        ("f_number", "ExifIFD:FNumber"),
        ("focal_length", "ExifIFD:FocalLength"),
    ):
        if theirs in tool:
            assert exif[ours] == pytest.approx(float(tool[theirs]), rel=1e-6), ours
    if "ExifIFD:ISO" in tool:
        assert exif["iso"] == int(str(tool["ExifIFD:ISO"]).split()[0])
    if "IFD0:Orientation" in tool:
        assert exif["orientation"] == tool["IFD0:Orientation"]
    if "Composite:GPSLatitude" in tool:
        assert exif["gps"]["lat"] == pytest.approx(tool["Composite:GPSLatitude"], abs=1e-5)
        assert exif["gps"]["lon"] == pytest.approx(tool["Composite:GPSLongitude"], abs=1e-5)
    else:
        assert exif["gps"] is None or exif["gps"]["lat"] is None
    if "Composite:GPSAltitude" in tool:
        assert exif["gps"]["alt"] == pytest.approx(tool["Composite:GPSAltitude"], abs=1e-3)


def assert_shape(result: dict[str, Any]) -> None:
    assert set(result) == {
        "format",
        "width",
        "height",
        "stored_width",
        "stored_height",
        "frames",
        "mode",
        "has_icc",
        "exif",
    }
    assert set(result["exif"]) == EXIF_KEYS
    gps = result["exif"]["gps"]
    assert gps is None or set(gps) == {"lat", "lon", "alt"}
    assert len(json.dumps(result, allow_nan=False)) < 4096  # JSON-ready and small whatever the input


# --- corpus -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rel", CAMERA_FILES or ["-"])
def test_exif_camera_agrees_with_exiftool(corpus: Path, rel: str) -> None:
    result = meta((corpus / rel).read_bytes())
    assert_shape(result)
    assert (result["width"], result["height"]) == DISPLAY[rel.removeprefix("exif-camera/")]
    assert_agrees_with_exiftool(result, exiftool(corpus, rel))


@pytest.mark.parametrize("rel", PERF_FILES or ["-"])
def test_perf_photos_agree_with_exiftool(corpus: Path, rel: str) -> None:
    result = meta((corpus / rel).read_bytes())
    assert_shape(result)
    tool = exiftool(corpus, rel)
    assert (result["stored_width"], result["stored_height"]) == (
        tool["File:ImageWidth"],
        tool["File:ImageHeight"],
    )
    assert_agrees_with_exiftool(result, tool)


def test_manifest_lists_every_camera_jpeg(corpus: Path) -> None:
    assert len([name for name in DISPLAY if name.startswith("jpg/")]) == 44


@pytest.mark.parametrize("rel", HOSTILE_FILES or ["-"])
def test_hostile_metadata_never_raises(corpus: Path, rel: str) -> None:
    try:
        result = meta((corpus / rel).read_bytes())
    except ImageRejected:
        return  # unopenable files were rejected by validate already; a named rejection is fine
    assert_shape(result)


@pytest.mark.parametrize(
    ("rel", "display", "orientation"),
    [
        ("hostile/pillow/xmp_tags_orientation.png", (326, 268), 3),  # XMP only
        ("hostile/pillow/hopper_orientation_6.webp", (128, 128), 6),
        ("hostile/pillow/orientation_rectangle.jpg", (1, 2), 8),
        ("hostile/pillow/empty_gps_ifd.jpg", (10, 10), 6),
        ("hostile/sharp/Portrait_5.jpg", (450, 600), 5),
        ("hostile/sharp/Portrait_6.jpg", (450, 600), 6),
        ("hostile/pillow/exif.png", (512, 512), 1),  # eXIf after IDAT
    ],
)
def test_hostile_orientation(corpus: Path, rel: str, display: tuple[int, int], orientation: int) -> None:
    result = meta((corpus / rel).read_bytes())
    assert (result["width"], result["height"], result["exif"]["orientation"]) == (*display, orientation)


def test_empty_gps_ifd_records_no_gps(corpus: Path) -> None:
    assert meta((corpus / "hostile/pillow/empty_gps_ifd.jpg").read_bytes())["exif"]["gps"] is None


@pytest.mark.parametrize(
    ("rel", "facts"),
    [
        ("hostile/pillow/sugarshack.mpo", {"format": "MPO", "frames": 2}),
        ("hostile/sharp/animated-loop-3.gif", {"format": "GIF", "frames": 10}),
        ("hostile/sharp/animated-loop-3.webp", {"format": "WEBP", "frames": 10}),
        ("hostile/pillow/apng/num_plays.png", {"format": "PNG", "frames": 3}),
        ("hostile/sharp/Channel_digital_image_CMYK_color.jpg", {"mode": "CMYK", "has_icc": True}),
        ("hostile/sharp/Channel_digital_image_CMYK_color_no_profile.jpg", {"mode": "CMYK", "has_icc": False}),
    ],
)
def test_header_facts(corpus: Path, rel: str, facts: dict[str, Any]) -> None:
    result = meta((corpus / rel).read_bytes())
    assert {key: result[key] for key in facts} == facts


# --- generated ----------------------------------------------------------------------------------------


def _jpeg(exif: Image.Exif | None = None, size: tuple[int, int] = (40, 30)) -> bytes:
    return encode(Image.new("RGB", size, "teal"), "JPEG", exif=exif if exif is not None else b"")


def _gps_exif(lat_ref: str, lon_ref: str, alt_ref: bytes | None) -> Image.Exif:
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps.update(
        {1: lat_ref, 2: (33.0, 51.0, 21.6), 3: lon_ref, 4: (151.0, 12.0, 36.0), 6: IFDRational(125, 10)}
    )
    if alt_ref is not None:
        gps[5] = alt_ref
    return exif


@pytest.mark.parametrize(
    ("lat_ref", "lon_ref", "alt_ref", "expected"),
    [
        ("N", "E", b"\x00", {"lat": 33.8560000, "lon": 151.21, "alt": 12.5}),
        ("S", "W", b"\x01", {"lat": -33.856, "lon": -151.21, "alt": -12.5}),
        ("S", "E", None, {"lat": -33.856, "lon": 151.21, "alt": 12.5}),
        ("N", "W", b"\x00", {"lat": 33.856, "lon": -151.21, "alt": 12.5}),
    ],
)
def test_gps_signs(lat_ref: str, lon_ref: str, alt_ref: bytes | None, expected: dict[str, float]) -> None:
    gps = meta(_jpeg(_gps_exif(lat_ref, lon_ref, alt_ref)))["exif"]["gps"]
    assert gps == pytest.approx(expected, abs=1e-7)


def test_gps_rounded_to_seven_decimals() -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: (IFDRational(1, 3), 0.0, 0.0), 3: "E", 4: (1.0, 0.0, 0.0)})
    assert meta(_jpeg(exif))["exif"]["gps"] == {"lat": 0.3333333, "lon": 1.0, "alt": None}


def test_no_exif_at_all() -> None:
    result = meta(_jpeg())
    assert_shape(result)
    assert result["exif"] == dict.fromkeys(EXIF_KEYS)
    assert (result["format"], result["width"], result["height"], result["has_icc"]) == ("JPEG", 40, 30, False)


def test_missing_fields_are_null_and_present_ones_parse() -> None:
    exif = Image.Exif()
    exif[0x010F] = "Maker\x00\x00"  # Make, NUL padded
    exif[0x0132] = "2019:03:01 10:00:00"  # DateTime only: the last fallback
    exif.get_ifd(0x8769)[0x9010] = "+01:00"  # OffsetTime
    fields = meta(_jpeg(exif))["exif"]
    assert fields == {**dict.fromkeys(EXIF_KEYS), "make": "Maker", "taken_at": "2019-03-01T10:00:00+01:00"}


def test_taken_at_prefers_original_with_its_offset() -> None:
    exif = Image.Exif()
    exif[0x0132] = "2020:01:01 00:00:00"
    sub = exif.get_ifd(0x8769)
    sub.update({0x9003: "2019:03:01 10:00:00", 0x9004: "2019:03:02 10:00:00", 0x9011: "-05:30"})
    sub.update(
        {0x829A: IFDRational(1, 250), 0x829D: IFDRational(28, 10), 0x8827: 400, 0x920A: IFDRational(50)}
    )
    fields = meta(_jpeg(exif))["exif"]
    assert fields["taken_at"] == "2019-03-01T10:00:00-05:30"
    assert (fields["exposure_time"], fields["f_number"], fields["iso"], fields["focal_length"]) == (
        0.004,
        2.8,
        400,
        50.0,
    )


@pytest.mark.parametrize("stamp", ["0000:00:00 00:00:00", "2019:13:45 99:00:00", "garbage", "    "])
def test_invalid_dates_are_null(stamp: str) -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = stamp
    assert meta(_jpeg(exif))["exif"]["taken_at"] is None


def test_hostile_values_are_tamed() -> None:
    exif = Image.Exif()
    exif[0x010F] = "A" * 60_000  # Make
    exif[0x0110] = "  Model\n"  # Model
    exif[0x0112] = 9  # Orientation out of range
    sub = exif.get_ifd(0x8769)
    sub.update({0x829A: IFDRational(1, 0), 0x829D: IFDRational(0, 0), 0xA434: b"\xff\xfe lens"})
    exif.get_ifd(0x8825).update(
        {1: "N", 2: (IFDRational(95, 1), 0.0, 0.0), 3: "E", 4: (IFDRational(1, 0), 0, 0)}
    )
    result = meta(_jpeg(exif))
    assert_shape(result)
    fields = result["exif"]
    assert fields["make"] == "A" * MAX_STRING
    assert fields["model"] == "Model"
    assert fields["orientation"] is None
    assert fields["exposure_time"] is None and fields["f_number"] is None
    assert fields["lens_model"] is not None and fields["lens_model"].endswith("lens")
    assert fields["gps"] is None  # latitude 95 is impossible, longitude 1/0, no altitude


def test_garbage_exif_block_is_ignored() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "JPEG", exif=b"Exif\x00\x00MM\x00*\xff\xff\xff\xff junk")
    assert meta(buffer.getvalue())["exif"] == dict.fromkeys(EXIF_KEYS)


@pytest.mark.parametrize("orientation", [5, 6, 7, 8])
def test_display_size_swaps_for_rotated_orientations(orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    result = meta(_jpeg(exif, (40, 30)))
    assert (result["width"], result["height"], result["stored_width"], result["stored_height"]) == (
        30,
        40,
        40,
        30,
    )


def _png_with_late_exif(exif: Image.Exif) -> bytes:
    """A PNG whose eXIf chunk sits after IDAT (allowed by the spec; Pillow writes it before)."""
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "navy").save(buffer, "PNG", exif=exif)
    data = buffer.getvalue()
    start = data.index(b"eXIf") - 4
    (length,) = struct.unpack(">I", data[start : start + 4])
    chunk = data[start : start + 12 + length]
    data = data[:start] + data[start + 12 + length :]
    end = data.index(b"IEND") - 4
    return data[:end] + chunk + data[end:]


def test_png_exif_after_idat_is_read() -> None:
    exif = Image.Exif()
    exif[0x010F] = "PngCam"
    exif[0x0112] = 6
    data = _png_with_late_exif(exif)
    assert data.index(b"eXIf") > data.index(b"IDAT")
    result = meta(data)
    assert (result["exif"]["make"], result["exif"]["orientation"], result["width"]) == ("PngCam", 6, 30)


def _exif(tag: int, value: object) -> Image.Exif:
    exif = Image.Exif()
    exif[tag] = value
    return exif


def _animated(fmt: str) -> bytes:
    frames = [Image.new("RGB", (20, 10), colour) for colour in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, fmt, save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def _webp() -> bytes:
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 8
    Image.new("RGB", (40, 30)).save(buffer, "WEBP", exif=exif)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "facts"),
    [
        (_jpeg(), {"format": "JPEG", "frames": 1}),
        (_png_with_late_exif(_exif(0x010F, "PngCam")), {"format": "PNG", "frames": 1}),
        (_animated("GIF"), {"format": "GIF", "frames": 3}),
        (_animated("PNG"), {"format": "PNG", "frames": 3}),
        (_animated("WEBP"), {"format": "WEBP", "frames": 3}),
        (_webp(), {"format": "WEBP", "width": 30, "height": 40}),
    ],
    ids=["jpeg", "png", "gif", "apng", "webp-animated", "webp-orientation"],
)
def test_reads_headers_without_decoding(monkeypatch: pytest.MonkeyPatch, data: bytes, facts: dict) -> None:
    def no_decode(self: Image.Image) -> None:
        raise AssertionError("extract_metadata decoded pixels")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decode)
    monkeypatch.setattr(WebPImagePlugin.WebPImageFile, "load", no_decode)
    result = meta(data)
    assert {key: result[key] for key in facts} == facts


def test_unopenable_bytes_raise_a_named_rejection() -> None:
    with pytest.raises(ImageRejected):
        meta(b"not an image")
    with pytest.raises(ImageRejected):
        meta(zlib.compress(b"x"))


def _jpegs(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".mpo"))


def test_the_headers_of_a_jpeg_give_the_same_metadata_as_the_whole_file(corpus: Path) -> None:
    checked = 0
    for path in _jpegs(corpus):
        data = path.read_bytes()
        prefix = data[:JPEG_HEADER_BYTES]
        if not jpeg_headers_complete(prefix):
            continue
        try:
            full = extract_metadata(data, LIMITS)
        except ImageRejected:
            continue  # validate rejects these before extract_meta runs
        assert extract_metadata(prefix, LIMITS) == full, path.name
        checked += 1
    assert checked > 50


def test_headers_longer_than_the_prefix_are_detected(corpus: Path) -> None:
    big = corpus / "hostile" / "pillow" / "icc_profile_big.jpg"  # ICC spread over APP2 segments past 256 KiB
    assert not jpeg_headers_complete(big.read_bytes()[:JPEG_HEADER_BYTES])
    assert jpeg_headers_complete(big.read_bytes())


def test_only_jpeg_headers_count() -> None:
    assert not jpeg_headers_complete(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    assert not jpeg_headers_complete(b"\xff\xd8\xff\xe1\xff\xff")  # a segment longer than what we have
    assert jpeg_headers_complete(b"\xff\xd8\xff\xe0\x00\x04ab\xff\xff\xda\x00\x02")
