"""Formats and sizes people upload today: HEIC and AVIF (orientation, colour, depth), 200 MP photos and pixel
budgets, panoramas and cover crops, WebP/AVIF renditions, and rejections that say why in words."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image, ImageCms, ImageDraw

from imgflow.config import DEFAULT_RENDITIONS, Limits, Rendition
from imgflow.errors import CorruptImage, TooManyPixels, TruncatedImage, UnsupportedFormat
from imgflow.image import budget
from imgflow.image.opening import TRANSPOSE
from imgflow_tools.samples import solid_jpeg
from tasks.extract_meta.metadata import extract_metadata
from tasks.resize.renditions import render
from tasks.validate.checks import validate_image
from tests.support.images import encode

LIMITS = Limits()
RED, BLUE, GREY = (230, 20, 20), (20, 20, 230), (128, 128, 128)
#: Inverse of each orientation's display transform: the stored pixels that display upright.
STORE = {1: None, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}


def upright(size: tuple[int, int] = (96, 64)) -> Image.Image:
    """Red block top-left, blue block bottom-right: any flip or turn moves them."""
    width, height = size
    im = Image.new("RGB", size, GREY)
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, width // 3, height // 3), fill=RED)
    draw.rectangle((width * 2 // 3, height * 2 // 3, width, height), fill=BLUE)
    return im


def phone_file(fmt: str, orient: int, size: tuple[int, int] = (96, 64)) -> bytes:
    """What a phone writes: pixels as the sensor saw them, the orientation in EXIF (pillow-heif and Pillow's
    AVIF plugin also write it as the container's irot/imir transform, as iPhones do)."""
    stored = upright(size)
    if STORE[orient]:
        stored = stored.transpose(TRANSPOSE[STORE[orient]])
    exif = Image.Exif()
    exif[0x0112] = orient
    exif[0x010F] = "Apple"
    exif[0x0110] = "iPhone 15 Pro"
    return encode(stored, fmt, exif=exif.tobytes(), quality=90)


def decoded(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def assert_upright(im: Image.Image) -> None:
    rgb = im.convert("RGB")
    width, height = rgb.size
    corners = [rgb.getpixel(p) for p in ((2, 2), (width - 3, height - 3), (width - 3, 2), (2, height - 3))]
    assert [min(range(3), key=lambda i, c=c: -c[i]) for c in corners[:2]] == [0, 2], corners  # red, blue
    assert all(abs(v - 128) < 30 for c in corners[2:] for v in c), corners  # grey


# --- HEIC / AVIF in -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
@pytest.mark.parametrize("orient", range(1, 9))
def test_phone_heic_and_avif_render_upright_in_every_orientation(fmt: str, orient: int) -> None:
    data = phone_file(fmt, orient)
    assert validate_image(data, LIMITS).format == fmt
    meta = extract_metadata(data, LIMITS)
    assert (meta["width"], meta["height"]) == (96, 64)
    # As the file records it (like exiftool); Pillow's AVIF writer keeps orientation 1 as no transform at all.
    assert meta["exif"]["orientation"] in ({orient, None} if orient == 1 else {orient})
    assert meta["exif"]["model"] == "iPhone 15 Pro"
    (out,) = render(data, [Rendition("r", 48, "PNG")], LIMITS)
    assert (out.width, out.height) == (48, 32)
    assert_upright(decoded(out.data))


def test_display_p3_heic_is_converted_to_srgb(corpus: Path) -> None:
    # The iPhone's own Display P3 profile; the expected colour is LittleCMS's own P3 -> sRGB answer.
    with Image.open(corpus / "exif-camera" / "heic" / "IMG_5195.HEIC") as iphone:
        p3 = iphone.info["icc_profile"]
    source = Image.new("RGB", (64, 64), (200, 90, 40))
    data = encode(source, "HEIF", icc_profile=p3, quality=-1)
    assert extract_metadata(data, LIMITS)["has_icc"] is True
    (out,) = render(data, [Rendition("r", 32, "PNG")], LIMITS)
    got = decoded(out.data)
    assert "icc_profile" not in got.info
    expected = ImageCms.profileToProfile(
        source, ImageCms.ImageCmsProfile(io.BytesIO(p3)), ImageCms.createProfile("sRGB"), outputMode="RGB"
    )
    assert expected is not None
    want, have = expected.getpixel((0, 0)), got.convert("RGB").getpixel((16, 16))
    assert want != (200, 90, 40)
    assert all(abs(a - b) <= 4 for a, b in zip(have, want, strict=True)), (have, want)  # type: ignore[arg-type]


def test_ten_bit_heic_becomes_eight_bit_rgb() -> None:
    row = b"".join(struct.pack("<HHH", *(x * 65535 // 63,) * 3) for x in range(64))
    ramp = row * 32
    heif = pillow_heif.from_bytes(mode="RGB;16", size=(64, 32), data=ramp)
    buffer = io.BytesIO()
    heif.save(buffer, quality=-1)
    data = buffer.getvalue()
    assert pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=False).info["bit_depth"] == 10
    assert validate_image(data, LIMITS).mode == "RGB"
    (out,) = render(data, [Rendition("r", 64, "PNG")], LIMITS)
    im = decoded(out.data)
    assert im.mode == "RGB"
    assert im.getpixel((0, 16))[0] < 10 and im.getpixel((63, 16))[0] > 245  # type: ignore[index]


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_broken_heic_and_avif_are_corrupt_or_truncated(fmt: str) -> None:
    data = encode(upright(), fmt, quality=80)
    with pytest.raises((TruncatedImage, CorruptImage)):
        validate_image(data[: len(data) // 2], LIMITS)
    with pytest.raises(CorruptImage):
        validate_image(data[:24] + bytes(40), LIMITS)


def test_the_iphone_heic_is_processed_with_its_exif(corpus: Path) -> None:
    data = (corpus / "exif-camera" / "heic" / "IMG_5195.HEIC").read_bytes()
    assert validate_image(data, LIMITS).format == "HEIF"
    out = render(data, DEFAULT_RENDITIONS, LIMITS)
    assert [(r.name, r.width, r.height) for r in out] == [
        ("thumb", 198, 256),
        ("medium", 793, 1024),
        ("large", 1586, 2048),
    ]
    # exiftool's reading (expected/heic/IMG_5195.HEIC.json) is compared field by field in test_extract_meta.


# --- allow-list and messages --------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "label"), [("TIFF", "TIFF"), ("BMP", "BMP")])
def test_tiff_and_bmp_only_by_configuration(fmt: str, label: str) -> None:
    data = encode(upright(), fmt)
    with pytest.raises(UnsupportedFormat) as info:
        validate_image(data, LIMITS)
    assert str(info.value) == f"{label} is not accepted (accepted: JPEG, PNG, GIF, WebP, HEIC, AVIF)"
    configured = Limits(formats=(*LIMITS.formats, fmt))
    assert validate_image(data, configured).format == fmt
    (out,) = render(data, [Rendition("r", 48, "PNG")], configured)
    assert_upright(decoded(out.data))


def test_a_format_taken_off_the_allow_list_is_refused_by_name() -> None:
    with pytest.raises(UnsupportedFormat, match=r"^HEIC is not accepted \(accepted: JPEG, PNG\)$"):
        validate_image(phone_file("HEIF", 1), Limits(formats=("JPEG", "PNG")))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG declaring ``width`` x ``height`` with a tiny IDAT (the budget must reject it from the header)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_a_200_mp_png_is_rejected_by_its_budget_with_a_message() -> None:
    limit = budget.pixel_limit("PNG", LIMITS)
    assert 50_000_000 < limit < 200_000_000
    with pytest.raises(TooManyPixels) as info:
        validate_image(png_header_only(16320, 12240), LIMITS)
    assert str(info.value) == f"16320x12240 = 199.8 MP, the limit for PNG is {limit / 1e6:.1f} MP"


def test_a_50_mp_camera_frame_is_within_every_budget() -> None:
    for fmt in LIMITS.formats:
        assert budget.pixel_limit(fmt, LIMITS) >= 8688 * 5792, fmt


@pytest.mark.slow
def test_a_200_mp_jpeg_is_processed_at_a_reduced_dct_scale() -> None:
    data = solid_jpeg(16320, 12240)
    assert validate_image(data, LIMITS).width == 16320
    out = render(data, DEFAULT_RENDITIONS, LIMITS)
    assert [(r.width, r.height) for r in out] == [(256, 192), (1024, 768), (2048, 1536)]
    pixel = decoded(out[0].data).getpixel((100, 100))
    assert all(abs(a - b) <= 3 for a, b in zip(pixel, (90, 140, 200), strict=True))  # type: ignore[arg-type]


def test_a_jpeg_that_must_decode_at_full_size_is_held_to_the_full_size_budget() -> None:
    # A rendition as large as the original forbids any DCT scaling: the JPEG's budget is then the full one.
    data = solid_jpeg(16320, 12240)
    with pytest.raises(TooManyPixels, match=r"the limit for JPEG \(decoded at full size\) is"):
        validate_image(data, LIMITS, [Rendition("full", 16320)])


# --- shapes -------------------------------------------------------------------------------------------


def test_a_panorama_keeps_the_whole_picture_and_only_its_thumbnail_crops() -> None:
    # A left-to-right gradient: a rendition that kept the whole picture is dark at its left edge and bright
    # at its right edge; a crop would have lost one end.
    panorama = Image.linear_gradient("L").rotate(90, expand=True).resize((20000, 200)).convert("RGB")
    out = render(encode(panorama, "JPEG"), DEFAULT_RENDITIONS, LIMITS)
    sizes = {r.name: (r.width, r.height) for r in out}
    assert sizes == {"thumb": (256, 64), "medium": (1024, 10), "large": (2048, 20)}
    for rendition in out[1:]:
        grey = decoded(rendition.data).convert("L")
        left, right = grey.getpixel((0, grey.height // 2)), grey.getpixel((grey.width - 1, grey.height // 2))
        assert (left, right) == (pytest.approx(255, abs=12), pytest.approx(0, abs=12)) or (
            left,
            right,
        ) == (pytest.approx(0, abs=12), pytest.approx(255, abs=12))
    # The thumbnail keeps a usable 64 px short side: 256 of the 6,400 px the scaled panorama is wide.
    thumb = decoded(out[0].data).convert("L")
    assert abs(thumb.getpixel((0, 32)) - thumb.getpixel((255, 32))) < 40  # type: ignore[operator]


def test_a_rendition_spec_may_still_ask_for_a_panorama_crop() -> None:
    panorama = Image.new("RGB", (12000, 800), GREY)
    (large,) = render(encode(panorama, "JPEG"), [Rendition("large", 2048, min_side=512)], LIMITS)
    assert (large.width, large.height) == (2048, 512)


def test_cover_gives_a_square_and_entropy_keeps_the_detail() -> None:
    im = Image.new("RGB", (1200, 400), GREY)
    ImageDraw.Draw(im).rectangle((900, 50, 1150, 350), fill=RED, outline=BLUE, width=20)
    data = encode(im, "PNG")
    centre, detail = render(
        data,
        [
            Rendition("c", 200, "PNG", fit="cover"),
            Rendition("e", 200, "PNG", fit="cover", position="entropy"),
        ],
        LIMITS,
    )
    assert (centre.width, centre.height) == (detail.width, detail.height) == (200, 200)
    assert len(decoded(centre.data).getcolors() or []) <= 2  # the plain middle
    red = decoded(detail.data).convert("RGB").getcolors(1 << 16) or []
    assert sum(n for n, c in red if c[0] > 200 and c[1] < 60) > 2000  # the red frame


def test_attention_finds_the_skin_and_colour() -> None:
    im = Image.new("RGB", (1500, 500), (120, 120, 120))
    ImageDraw.Draw(im).ellipse((100, 100, 400, 400), fill=(224, 172, 140))  # a face-coloured disc on the left
    (out,) = render(
        encode(im, "PNG"), [Rendition("a", 300, "PNG", fit="cover", position="attention")], LIMITS
    )
    skin = [n for n, c in decoded(out.data).convert("RGB").getcolors(1 << 16) or [] if c[0] > 200]
    assert sum(skin) > 20000


def test_cover_never_upscales() -> None:
    (out,) = render(encode(upright((120, 80)), "PNG"), [Rendition("sq", 256, "PNG", fit="cover")], LIMITS)
    assert (out.width, out.height) == (80, 80)


# --- formats out --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["WEBP", "AVIF"])
def test_webp_and_avif_renditions_decode_keep_alpha_and_carry_no_metadata(fmt: str) -> None:
    im = upright((200, 100)).convert("RGBA")
    im.putalpha(Image.linear_gradient("L").resize((200, 100)))
    exif = Image.Exif()
    exif[0x010F] = "Secret Camera"
    data = encode(im, "PNG", exif=exif.tobytes())
    (out,) = render(data, [Rendition("r", 100, fmt)], LIMITS)
    got = decoded(out.data)
    assert (got.format, got.mode, got.size) == (fmt, "RGBA", (100, 50))
    alpha = got.getchannel("A")
    assert alpha.getpixel((1, 0)) < 40 and alpha.getpixel((98, 49)) > 200  # type: ignore[operator]
    assert not got.getexif() and "xmp" not in got.info and "icc_profile" not in got.info
    assert b"Secret" not in out.data and b"Exif" not in out.data


def test_alternates_encode_the_same_rendition_in_more_formats() -> None:
    out = render(
        encode(upright((400, 300)), "JPEG"), [Rendition("m", 200, alternates=("WEBP", "AVIF"))], LIMITS
    )
    assert [(r.name, r.format, r.content_type, r.width) for r in out] == [
        ("m", "JPEG", "image/jpeg", 200),
        ("m", "WEBP", "image/webp", 200),
        ("m", "AVIF", "image/avif", 200),
    ]
    for rendition in out:
        assert_upright(decoded(rendition.data))
