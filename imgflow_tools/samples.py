"""The demo's bundled sample set, generated (deterministically) rather than shipped as binaries.

Each sample exercises one path of the workflow; ``expected`` says what the demo should report.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from PIL import Image, ImageDraw, TiffImagePlugin

EXIF_IFD, GPS_IFD = 0x8769, 0x8825


@dataclass(frozen=True)
class Sample:
    filename: str
    expected: str  # "PROCESSED" or "REJECTED:<reason>"
    make: Callable[[], bytes]


def _scene(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """A picture with gradients, edges and an asymmetric mark (so orientation mistakes are visible)."""
    w, h = size
    im = Image.linear_gradient("L").resize(size).convert(mode if mode != "RGBA" else "RGB")
    draw = ImageDraw.Draw(im)
    for i in range(0, w, max(1, w // 12)):
        draw.line([(i, 0), (w - i, h)], fill=(40, 120, 200) if im.mode == "RGB" else 90, width=3)
    draw.rectangle([w // 20, h // 20, w // 4, h // 3], fill=(220, 40, 40) if im.mode == "RGB" else 200)
    return im


def _rational(value: float) -> TiffImagePlugin.IFDRational:
    f = Fraction(value).limit_denominator(10000)
    return TiffImagePlugin.IFDRational(f.numerator, f.denominator)


def _dms(degrees: float) -> tuple[TiffImagePlugin.IFDRational, ...]:
    d = abs(degrees)
    minutes = (d - int(d)) * 60
    return (_rational(int(d)), _rational(int(minutes)), _rational(round((minutes - int(minutes)) * 60, 4)))


def camera_exif(
    *, orientation: int = 1, lat: float | None = None, lon: float | None = None, alt: float | None = None
) -> Image.Exif:
    """EXIF as a camera writes it: make, model, lens, time with offset, exposure, GPS."""
    exif = Image.Exif()
    exif[0x010F] = "imgflow"
    exif[0x0110] = "Sample Camera S1"
    exif[0x0112] = orientation
    exif[0x0132] = "2024:06:01 12:34:56"
    exif_ifd = exif.get_ifd(EXIF_IFD)
    exif_ifd.update(
        {
            0x9003: "2024:06:01 12:34:56",
            0x9011: "+02:00",
            0x829A: _rational(1 / 250),
            0x829D: _rational(2.8),
            0x8827: 200,
            0x920A: _rational(35.0),
            0xA434: "Sample Lens 35mm F2.8",
        }
    )
    if lat is not None and lon is not None:
        gps = exif.get_ifd(GPS_IFD)
        gps.update({1: "N" if lat >= 0 else "S", 2: _dms(lat), 3: "E" if lon >= 0 else "W", 4: _dms(lon)})
        if alt is not None:
            gps.update({5: b"\x00" if alt >= 0 else b"\x01", 6: _rational(abs(alt))})
    return exif


def _jpeg(im: Image.Image, exif: Image.Exif | None = None, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=88, exif=exif.tobytes() if exif else b"", **kwargs)
    return buf.getvalue()


def _landscape() -> bytes:
    return _jpeg(_scene((1600, 1200)), camera_exif(lat=48.858370, lon=2.294481, alt=35.0))


def _portrait_rotated() -> bytes:
    # Stored landscape, displayed portrait: the camera was turned (Orientation 6 = rotate 90 CW to display).
    return _jpeg(_scene((1200, 900)), camera_exif(orientation=6, lat=-22.951916, lon=-43.210487, alt=700.0))


def _png_alpha() -> bytes:
    im = _scene((640, 480)).convert("RGBA")
    im.putalpha(Image.linear_gradient("L").rotate(90).resize(im.size))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _gif_animated() -> bytes:
    frames = [_scene((320, 240)).rotate(angle).convert("P") for angle in (0, 120, 240)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)
    return buf.getvalue()


def _webp() -> bytes:
    buf = io.BytesIO()
    _scene((800, 600)).save(buf, "WEBP", quality=80)
    return buf.getvalue()


def _cmyk() -> bytes:
    return _jpeg(_scene((400, 300)).convert("CMYK"))


def _iphone_heic() -> bytes:
    """As an iPhone writes it: HEVC in HEIF, stored sideways with the turn in irot and in EXIF (both)."""
    from pillow_heif import register_heif_opener

    register_heif_opener()
    buf = io.BytesIO()
    exif = camera_exif(orientation=6, lat=37.33182, lon=-122.03118, alt=20.0)
    exif[0x010F], exif[0x0110] = "Apple", "iPhone 15 Pro"
    _scene((800, 600)).save(buf, "HEIF", quality=80, exif=exif.tobytes())
    return buf.getvalue()


def _android_avif() -> bytes:
    buf = io.BytesIO()
    exif = camera_exif(orientation=8, lat=51.50072, lon=-0.12462)
    exif[0x010F], exif[0x0110] = "Google", "Pixel 9"
    _scene((800, 600)).save(buf, "AVIF", quality=70, exif=exif.tobytes())
    return buf.getvalue()


def _panorama() -> bytes:
    return _jpeg(_scene((6000, 300)), camera_exif())


def _tiff_scan() -> bytes:
    buf = io.BytesIO()
    _scene((300, 200)).save(buf, "TIFF")
    return buf.getvalue()


def _truncated() -> bytes:
    data = _jpeg(_scene((800, 600)), progressive=True)
    return data[: len(data) // 2]


def _not_an_image() -> bytes:
    return b"These are meeting notes, saved with a .jpg name by mistake.\n" * 20


def _pixel_bomb() -> bytes:
    # 100 MP of one bit per pixel compresses to a few KB: the header alone must reject it.
    buf = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buf, "PNG", optimize=False)
    return buf.getvalue()


SAMPLES: tuple[Sample, ...] = (
    Sample("landscape_gps.jpg", "PROCESSED", _landscape),
    Sample("portrait_rotated.jpg", "PROCESSED", _portrait_rotated),
    Sample("logo_alpha.png", "PROCESSED", _png_alpha),
    Sample("animated.gif", "PROCESSED", _gif_animated),
    Sample("photo.webp", "PROCESSED", _webp),
    Sample("print_cmyk.jpg", "PROCESSED", _cmyk),
    Sample("iphone.heic", "PROCESSED", _iphone_heic),
    Sample("pixel.avif", "PROCESSED", _android_avif),
    Sample("panorama.jpg", "PROCESSED", _panorama),
    Sample("scan.tiff", "REJECTED:unsupported_format", _tiff_scan),
    Sample("truncated.jpg", "REJECTED:truncated", _truncated),
    Sample("notes.jpg", "REJECTED:invalid_image", _not_an_image),
    Sample("pixel_bomb.png", "REJECTED:too_many_pixels", _pixel_bomb),
)


def write_samples(directory: Path) -> list[Path]:
    """Write the sample set into ``directory``; returns the paths in order."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for sample in SAMPLES:
        path = directory / sample.filename
        path.write_bytes(sample.make())
        paths.append(path)
    return paths


def solid_jpeg(width: int, height: int, colour: tuple[int, int, int] = (90, 140, 200)) -> bytes:
    """A baseline 4:2:0 JPEG of any size (e.g. a 200 MP phone frame) built without its pixels in memory.

    Pillow encodes two 16x16 MCUs of ``colour`` with a restart marker between them; a restart resets the DC
    predictors, so every MCU's entropy-coded bytes are the same: the file is those bytes repeated once per
    MCU, restart markers between, with the frame header's size patched (a few MB for 200 MP).
    """
    buffer = io.BytesIO()
    Image.new("RGB", (32, 16), colour).save(
        buffer, "JPEG", quality=90, subsampling=2, restart_marker_blocks=1
    )
    data = buffer.getvalue()
    sos = data.index(b"\xff\xda")
    scan = sos + 2 + int.from_bytes(data[sos + 2 : sos + 4], "big")
    rst = data.index(b"\xff\xd0", scan)
    mcu = data[scan:rst]
    sof = data.index(b"\xff\xc0")
    header = bytearray(data[:scan])
    header[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    count = ((width + 15) // 16) * ((height + 15) // 16)
    markers = [bytes((0xFF, 0xD0 + i)) for i in range(8)]
    body = b"".join(mcu + markers[i % 8] for i in range(count - 1)) + mcu
    return bytes(header) + body + b"\xff\xd9"
