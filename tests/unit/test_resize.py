"""resize: rendition sizes, orientation, colour, alpha, animation, privacy, and every accepted corpus file."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageCms, ImageDraw, ImageOps, ImageStat, JpegImagePlugin

from imgflow.config import DEFAULT_RENDITIONS, Limits, Rendition
from imgflow.errors import ImageRejected
from imgflow.image import jpeg_scale
from tasks.resize.renditions import RenderedImage, render
from tests.support.corpus import hostile_expectations, pngsuite_expectations
from tests.support.images import encode

LIMITS = Limits()
HOSTILE_ACCEPTED = sorted(name for name, verdict in hostile_expectations().items() if verdict == "accept")
HOSTILE_JPEGS = [name for name in HOSTILE_ACCEPTED if name.lower().endswith((".jpg", ".jpeg", ".mpo"))]
PNGSUITE_VALID = sorted(name for name, verdict in pngsuite_expectations().items() if verdict == "valid")


def scene(size: tuple[int, int]) -> Image.Image:
    """RGB test card: red block top-left, blue block bottom-right, green line on the right edge."""
    width, height = size
    im = Image.new("RGB", size, (128, 128, 128))
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, width // 3, height // 3), fill=(255, 0, 0))
    draw.rectangle((width * 2 // 3, height * 2 // 3, width, height), fill=(0, 0, 255))
    draw.rectangle((width - width // 20, 0, width, height // 2), fill=(0, 255, 0))
    return im


def opened(rendition: RenderedImage) -> Image.Image:
    im = Image.open(io.BytesIO(rendition.data))
    im.load()
    assert im.format == rendition.format
    assert im.size == (rendition.width, rendition.height)
    return im


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


def srgb(im: Image.Image, icc: bytes) -> Image.Image:
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    managed = ImageCms.profileToProfile(im, profile, ImageCms.createProfile("sRGB"), outputMode="RGB")
    assert managed is not None
    return managed


# --- sizes --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((3000, 2000), {"thumb": (256, 171), "medium": (1024, 683), "large": (2048, 1365)}),
        ((2000, 3000), {"thumb": (171, 256), "medium": (683, 1024), "large": (1365, 2048)}),
        ((1500, 1500), {"thumb": (256, 256), "medium": (1024, 1024), "large": (1500, 1500)}),
        # A panorama keeps the whole picture; only the thumbnail keeps a 64 px short side (cropped).
        ((4000, 10), {"thumb": (256, 10), "medium": (1024, 3), "large": (2048, 5)}),
        ((20000, 200), {"thumb": (256, 64), "medium": (1024, 10), "large": (2048, 20)}),
        ((12000, 800), {"thumb": (256, 64), "medium": (1024, 68), "large": (2048, 137)}),
    ],
)
def test_rendition_sizes(size: tuple[int, int], expected: dict[str, tuple[int, int]]) -> None:
    out = render(encode(scene(size), "JPEG"), DEFAULT_RENDITIONS, LIMITS)
    assert [r.name for r in out] == ["thumb", "medium", "large"]
    assert {r.name: (r.width, r.height) for r in out} == expected
    for rendition in out:
        assert opened(rendition).mode == "RGB"
        assert (rendition.format, rendition.content_type) == ("JPEG", "image/jpeg")


def test_tiny_image_is_never_upscaled_and_shares_one_encoding() -> None:
    out = render(encode(scene((100, 75)), "PNG"), DEFAULT_RENDITIONS, LIMITS)
    assert {(r.width, r.height) for r in out} == {(100, 75)}
    assert len({r.data for r in out}) == 1


def test_spec_order_formats_and_quality_are_honoured() -> None:
    spec = [
        Rendition("low", 500, "JPEG", quality=20),
        Rendition("high", 500, "JPEG", quality=95),
        Rendition("lossless", 300, "PNG"),
        Rendition("web", 300, "WEBP", quality=60),
    ]
    out = render(encode(scene((1200, 900)), "PNG"), spec, LIMITS)
    assert [(r.name, r.format, r.content_type) for r in out] == [
        ("low", "JPEG", "image/jpeg"),
        ("high", "JPEG", "image/jpeg"),
        ("lossless", "PNG", "image/png"),
        ("web", "WEBP", "image/webp"),
    ]
    assert len(out[0].data) < len(out[1].data)
    assert [opened(r).size for r in out] == [(500, 375), (500, 375), (300, 225), (300, 225)]


def test_empty_spec_renders_nothing() -> None:
    assert render(encode(scene((10, 10)), "PNG"), [], LIMITS) == []


def test_unreadable_input_is_a_named_rejection() -> None:
    with pytest.raises(ImageRejected):
        render(b"not an image", DEFAULT_RENDITIONS, LIMITS)
    with pytest.raises(ImageRejected):
        render(encode(scene((100, 100)), "PNG"), DEFAULT_RENDITIONS, Limits(max_pixels=9_999))


# --- JPEG reduced decode ------------------------------------------------------------------------------


def test_jpeg_draft_is_used_and_its_box_keeps_the_geometry(monkeypatch: pytest.MonkeyPatch) -> None:
    original = scene((3001, 2001))
    data = encode(original, "JPEG", quality=95)
    calls: list[object] = []
    draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self: JpegImagePlugin.JpegImageFile, mode: str | None, size: tuple[int, int] | None) -> object:
        calls.append(result := draft(self, mode, size))
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    (thumb,) = render(data, [Rendition("thumb", 300)], LIMITS)
    assert calls and calls[0] is not None  # 1/4-scale decode (750 px >= 1.5 x 300)
    naive = original.resize((thumb.width, thumb.height), Image.Resampling.LANCZOS)
    assert mean_difference(opened(thumb), naive) < 3


@pytest.mark.parametrize(
    ("size", "max_side", "modes"),
    [
        ((2047, 1365), 2048, ["L", "YCbCr"]),  # both at 1/1: one YCbCr decode gives the planes; odd sides
        ((3001, 2001), 2048, ["L", "YCbCr"]),  # luma at 1/1, chroma at 1/2: two decodes
        ((4000, 3000), 1000, ["L", "YCbCr"]),  # luma at 1/2: one YCbCr decode at 1/2
        ((6001, 4001), 2048, ["L", "YCbCr"]),  # a 24 MP photo: 1/2 keeps 1.47x the 2048 px rendition
        ((4000, 3000), 2048, ["L", "YCbCr"]),  # a 12 MP photo: 1/2, 2000 px stretched to 2048
        ((2725, 2225), 720, ["L", "YCbCr"]),  # bench A: one YCbCr decode at 3/8 (libjpeg's 3x3 IDCT)
        ((4001, 3001), 300, ["L", "YCbCr"]),  # both at 1/8
    ],
)
def test_planar_jpeg_matches_full_resolution_lanczos(
    monkeypatch: pytest.MonkeyPatch, size: tuple[int, int], max_side: int, modes: list[str]
) -> None:
    original = Image.merge("RGB", [Image.linear_gradient("L").resize(size), *scene(size).split()[1:]])
    data = encode(original, "JPEG", quality=95)
    asked: list[str | None] = []
    draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self: JpegImagePlugin.JpegImageFile, mode: str | None, size: tuple[int, int] | None) -> object:
        asked.append(mode)
        return draft(self, mode, size)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    (out,) = render(data, [Rendition("r", max_side)], LIMITS)
    assert asked == modes
    naive = original.resize((out.width, out.height), Image.Resampling.LANCZOS)
    assert mean_difference(opened(out), naive) < 3


# --- orientation --------------------------------------------------------------------------------------


def _oriented_jpeg(orientation: int, size: tuple[int, int] = (120, 80)) -> tuple[bytes, Image.Image]:
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(scene(size), "JPEG", quality=95, exif=exif)
    reference = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    return data, reference


@pytest.mark.parametrize("orientation", [1, 2, 3, 4, 5, 6, 7, 8])
@pytest.mark.parametrize("max_side", [60, 1000])
def test_orientation_matches_exif_transpose(orientation: int, max_side: int) -> None:
    data, reference = _oriented_jpeg(orientation)
    (out,) = render(data, [Rendition("r", max_side, "PNG")], LIMITS)
    got = opened(out)
    expected = reference.resize(got.size, Image.Resampling.LANCZOS)
    assert got.size == ((40, 60) if orientation >= 5 else (60, 40)) if max_side == 60 else reference.size
    assert mean_difference(got, expected) < 2


@pytest.mark.parametrize(("orientation", "red_corner"), [(6, "top-right"), (8, "bottom-left")])
def test_orientation_places_pixels(orientation: int, red_corner: str) -> None:
    data, _ = _oriented_jpeg(orientation, (90, 60))
    (out,) = render(data, [Rendition("r", 90, "PNG")], LIMITS)
    got = opened(out).convert("RGB")
    assert got.size == (60, 90)
    corners = {"top-right": (55, 5), "bottom-left": (5, 85), "top-left": (5, 5)}
    red, green, blue = got.getpixel(corners[red_corner])
    assert red > 200 and green < 60 and blue < 60
    assert got.getpixel(corners["top-left"])[0] < 200  # the stored top-left moved away


@pytest.mark.parametrize("name", ["sharp/Portrait_5.jpg", "sharp/Portrait_6.jpg"])
def test_corpus_portraits_come_out_portrait(corpus: Path, name: str) -> None:
    out = render((corpus / "hostile" / name).read_bytes(), DEFAULT_RENDITIONS, LIMITS)
    assert [(r.width, r.height) for r in out] == [(192, 256), (450, 600), (450, 600)]


@pytest.mark.parametrize("n", range(2, 9))
def test_exif_camera_landscapes_all_look_like_landscape_1(corpus: Path, n: int) -> None:
    # landscape_5..8 are stored 450x600 (portrait) and display 600x450 (MANIFEST "display size").
    folder = corpus / "exif-camera" / "jpg" / "orientation"
    spec = [Rendition("thumb", 256, "PNG")]
    (upright,) = render((folder / "landscape_1.jpg").read_bytes(), spec, LIMITS)
    (out,) = render((folder / f"landscape_{n}.jpg").read_bytes(), spec, LIMITS)
    assert (out.width, out.height) == (256, 192)
    assert mean_difference(opened(out), opened(upright)) < 6


def test_xmp_only_orientation_is_applied(corpus: Path) -> None:
    data = (corpus / "hostile" / "pillow" / "xmp_tags_orientation.png").read_bytes()
    (out,) = render(data, [Rendition("r", 2048, "PNG")], LIMITS)
    stored = Image.open(io.BytesIO(data)).convert("RGB")
    # Orientation 3 is a half turn. The file is tagged ColorMatch RGB, so the reference is colour-managed too.
    rotated = srgb(stored.transpose(Image.Transpose.ROTATE_180), stored.info["icc_profile"])
    assert mean_difference(opened(out), rotated) < 1.5
    assert mean_difference(opened(out), srgb(stored, stored.info["icc_profile"])) > 20


# --- colour -------------------------------------------------------------------------------------------


def test_cmyk_without_profile_converts_plainly() -> None:
    cyan = Image.new("CMYK", (64, 64), (255, 0, 0, 0))
    (out,) = render(encode(cyan, "JPEG", quality=95), [Rendition("r", 32)], LIMITS)
    got = opened(out)
    assert (out.format, got.mode) == ("JPEG", "RGB")
    red, green, blue = (round(v) for v in ImageStat.Stat(got).mean)
    assert red < 20 and green > 235 and blue > 235


def test_cmyk_with_profile_goes_through_the_profile(corpus: Path) -> None:
    data = (corpus / "hostile" / "sharp" / "Channel_digital_image_CMYK_color.jpg").read_bytes()
    # 400 of 500 px: a full-size decode, so that only colour management separates the two references below.
    (out,) = render(data, [Rendition("r", 400, "PNG")], LIMITS)
    got = opened(out)
    assert got.mode == "RGB" and "icc_profile" not in got.info
    source = Image.open(io.BytesIO(data))
    managed = srgb(source, source.info["icc_profile"])
    plain = source.convert("RGB")
    assert mean_difference(got, managed.resize(got.size, Image.Resampling.LANCZOS)) < 3
    assert mean_difference(got, plain.resize(got.size, Image.Resampling.LANCZOS)) > 8


@pytest.mark.parametrize(
    "name", ["pillow/icc-after-SOF.jpg", "pillow/icc_profile_big.jpg", "pillow/icc_profile.png"]
)
def test_odd_profiles_render_without_a_profile(corpus: Path, name: str) -> None:
    for rendition in render((corpus / "hostile" / name).read_bytes(), DEFAULT_RENDITIONS, LIMITS):
        assert "icc_profile" not in opened(rendition).info


def test_grey_jpeg_stays_grey() -> None:
    (out,) = render(encode(scene((200, 100)).convert("L"), "JPEG"), [Rendition("r", 100)], LIMITS)
    assert opened(out).mode == "L"


def test_sixteen_bit_grey_is_scaled_not_clipped() -> None:
    ramp = Image.linear_gradient("L").resize((256, 256)).convert("I").point(lambda v: v * 257).convert("I;16")
    (out,) = render(encode(ramp, "PNG"), [Rendition("r", 128, "PNG")], LIMITS)
    got = opened(out)
    assert got.mode == "L"
    assert 110 < ImageStat.Stat(got).mean[0] < 145  # clipping would give ~255


def test_sixteen_bit_grey_transparency_becomes_alpha(corpus: Path) -> None:
    (out,) = render((corpus / "pngsuite" / "tbwn0g16.png").read_bytes(), DEFAULT_RENDITIONS, LIMITS)[:1]
    got = opened(out)
    assert (out.format, got.mode) == ("WEBP", "RGBA")
    assert got.getchannel("A").getextrema() == (0, 255)


# --- alpha --------------------------------------------------------------------------------------------


def _half_transparent() -> Image.Image:
    im = scene((200, 100)).convert("RGBA")
    im.paste((0, 0, 0, 0), (100, 0, 200, 100))
    return im


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_rgba_auto_renders_webp_with_alpha(fmt: str) -> None:
    (out,) = render(encode(_half_transparent(), fmt), [Rendition("r", 100)], LIMITS)
    got = opened(out)
    assert (out.format, out.content_type, got.mode) == ("WEBP", "image/webp", "RGBA")
    assert got.getpixel((10, 10))[3] == 255 and got.getpixel((90, 10))[3] == 0


def test_palette_transparency_renders_with_alpha() -> None:
    im = _half_transparent().convert("RGB").quantize(8)
    transparent_index = im.getpixel((150, 50))
    data = encode(im, "PNG", transparency=transparent_index)
    (out,) = render(data, [Rendition("r", 100)], LIMITS)
    got = opened(out)
    assert got.mode == "RGBA" and got.getpixel((90, 10))[3] == 0 and got.getpixel((10, 10))[3] == 255


def test_png_output_keeps_alpha() -> None:
    (out,) = render(encode(_half_transparent(), "PNG"), [Rendition("r", 100, "PNG")], LIMITS)
    assert opened(out).getchannel("A").getextrema() == (0, 255)


def test_alpha_flattened_on_white_for_jpeg() -> None:
    (out,) = render(encode(_half_transparent(), "PNG"), [Rendition("r", 100, "JPEG")], LIMITS)
    got = opened(out)
    assert got.mode == "RGB"
    assert min(got.getpixel((90, 25))) > 240


def test_opaque_alpha_renders_jpeg() -> None:
    (out,) = render(encode(scene((200, 100)).convert("RGBA"), "PNG"), [Rendition("r", 100)], LIMITS)
    assert out.format == "JPEG"


# --- animation ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_animated_images_render_frame_0(fmt: str) -> None:
    frames = [Image.new("RGB", (80, 60), colour) for colour in ((250, 0, 0), (0, 250, 0), (0, 0, 250))]
    buffer = io.BytesIO()
    frames[0].save(buffer, fmt, save_all=True, append_images=frames[1:])
    (out,) = render(buffer.getvalue(), [Rendition("r", 40, "PNG")], LIMITS)
    red, green, blue = opened(out).convert("RGB").getpixel((20, 15))
    assert red > 200 and green < 50 and blue < 50


# --- privacy ------------------------------------------------------------------------------------------


def _tagged_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Camera"
    exif[0x0112] = 6
    exif.get_ifd(0x8825).update({1: "N", 2: (52.0, 22.0, 1.0), 3: "E", 4: (4.0, 53.0, 2.0)})
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encode(scene((640, 480)), "JPEG", exif=exif, xmp=xmp, icc_profile=icc, comment=b"secret")


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "PNG"])
def test_renditions_carry_no_metadata(fmt: str) -> None:
    data = _tagged_jpeg()
    spec = [Rendition("a", 300, fmt), Rendition("b", 640, fmt)]
    for rendition in render(data, spec, LIMITS):
        got = opened(rendition)
        assert not got.getexif()
        assert not {"exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment"} & set(got.info)
        assert b"Camera" not in rendition.data and b"secret" not in rendition.data


@pytest.mark.parametrize(
    "name", ["pillow/exif.png", "pillow/hopper_orientation_6.webp", "sharp/gain-map.jpg"]
)
def test_corpus_metadata_is_stripped(corpus: Path, name: str) -> None:
    for rendition in render((corpus / "hostile" / name).read_bytes(), DEFAULT_RENDITIONS, LIMITS):
        got = opened(rendition)
        assert not got.getexif() and "exif" not in got.info and "xmp" not in got.info


# --- every accepted corpus file -----------------------------------------------------------------------


def _check_renders(data: bytes) -> None:
    out = render(data, DEFAULT_RENDITIONS, LIMITS)
    assert [r.name for r in out] == ["thumb", "medium", "large"]
    for rendition, spec in zip(out, DEFAULT_RENDITIONS, strict=True):
        assert max(rendition.width, rendition.height) <= spec.max_side
        assert opened(rendition).mode in ("L", "RGB", "RGBA")


@pytest.mark.parametrize("name", HOSTILE_ACCEPTED or ["-"])
def test_every_accepted_hostile_file_renders(corpus: Path, name: str) -> None:
    _check_renders((corpus / "hostile" / name).read_bytes())


@pytest.mark.parametrize("name", HOSTILE_JPEGS or ["-"])
def test_every_accepted_hostile_jpeg_renders_from_a_3_8_decode(corpus: Path, name: str) -> None:
    # 3/8 is set past Pillow's draft() (imgflow/image/jpeg_scale.py): the odd files must decode at it too.
    data = (corpus / "hostile" / name).read_bytes()
    with Image.open(io.BytesIO(data)) as im:
        stored = im.size
    max_side = max(1, int(max(jpeg_scale.decoded_size(stored, 3)) / 1.25))  # tiny files: any render
    (out,) = render(data, [Rendition("r", max_side)], LIMITS)
    assert max(out.width, out.height) == max_side
    assert opened(out).mode in ("L", "RGB", "RGBA")


@pytest.mark.parametrize("name", PNGSUITE_VALID or ["-"])
def test_every_valid_pngsuite_file_renders(corpus: Path, name: str) -> None:
    _check_renders((corpus / "pngsuite" / name).read_bytes())
