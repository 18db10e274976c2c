"""The DCT scale rule shared by validate and resize, and the 3/8 decode reached past Pillow's ``draft()``."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageStat

from imgflow.image import jpeg_scale
from tests.support.images import encode


def _jpeg(size: tuple[int, int], **params: object) -> bytes:
    im = Image.merge("RGB", [Image.linear_gradient("L").resize(size), Image.radial_gradient("L").resize(size),
                             Image.linear_gradient("L").rotate(90).resize(size)])  # fmt: skip
    return encode(im, "JPEG", quality=95, **params)


@pytest.mark.parametrize(
    ("size", "target", "eighths"),
    [
        ((2725, 2225), (720, 588), 3),  # bench A: 1022x835 keeps 1.42x; 1/4 (682) would not keep 1.5x
        ((4032, 3024), (2048, 1536), 4),  # a 12 MP phone photo for 2048 px: 1/2, 2016 px stretched by 1.6%
        ((4000, 3000), (2048, 1536), 4),  # 2000 px: 0.977 of the target, inside the 3% that 1/2 may miss
        ((3968, 2976), (2048, 1536), 8),  # 1984 px would miss by 3.1%: full size
        ((6000, 4000), (2048, 1365), 4),  # a 24 MP camera photo: 1/2
        ((8000, 6000), (2048, 1536), 3),  # 48 MP: 3/8 keeps 1.46x; 1/4 (2000 px) would not keep 1.5x
        ((16320, 12240), (2048, 1536), 2),  # a 200 MP phone photo: 1/4
        ((4001, 3001), (300, 225), 1),  # 1/8
    ],
)
def test_the_rule_picks_the_smallest_scale_that_keeps_its_margin(
    size: tuple[int, int], target: tuple[int, int], eighths: int
) -> None:
    assert jpeg_scale.eighths_for(size, target) == eighths


@pytest.mark.parametrize("size", [(2725, 2225), (803, 601), (97, 33), (17, 9), (8, 8), (3, 700)])
@pytest.mark.parametrize("mode", [None, "L", "YCbCr"])
@pytest.mark.parametrize("progressive", [False, True])
def test_a_3_8_decode_has_the_size_libjpeg_gives_and_the_pixels_of_a_downscale(
    size: tuple[int, int], mode: str | None, progressive: bool
) -> None:
    decoded = jpeg_scale.decoded_size(size, 3)
    target = (max(1, int(decoded[0] / 1.2)), max(1, int(decoded[1] / 1.2)))
    if jpeg_scale.eighths_for(size, target) != 3:
        pytest.skip(f"{size} has no 3/8 decode for any target")  # a side too short for 3/8 to differ
    data = _jpeg(size, progressive=progressive)
    with Image.open(io.BytesIO(data)) as im:
        box = jpeg_scale.draft(im, target, mode)
        im.load()
        assert im.size == decoded
        assert im.mode == (mode or "RGB")
        assert box == (0, 0, size[0] * 3 / 8, size[1] * 3 / 8)
        small = im.copy()
    if min(decoded) < 32:
        return  # too small for a mean over the image to say anything: the edges are most of it
    with Image.open(io.BytesIO(data)) as full:
        reference = full.convert(small.mode).resize(decoded, Image.Resampling.LANCZOS)
    difference = ImageStat.Stat(ImageChops.difference(small, reference)).mean
    assert max(difference) < 1.5, difference


def test_power_of_two_scales_go_through_pillows_own_draft() -> None:
    with Image.open(io.BytesIO(_jpeg((6000, 4000)))) as im:
        box = jpeg_scale.draft(im, (2048, 1365), "YCbCr")
        assert (im.size, im.mode, im.decoderconfig) == ((3000, 2000), "YCbCr", (2, 0))
        assert box == (0, 0, 3000.0, 2000.0)


def test_a_drafted_or_non_jpeg_image_is_left_alone() -> None:
    with Image.open(io.BytesIO(_jpeg((2725, 2225)))) as im:
        assert jpeg_scale.draft(im, (720, 588)) is not None
        assert jpeg_scale.draft(im, (100, 80)) is None
        assert im.size == (1022, 835)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64)).save(buffer, "PNG")
    with Image.open(buffer) as png:
        assert jpeg_scale.draft(png, (8, 8)) is None
