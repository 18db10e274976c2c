"""A rendition spec is checked where it is read (CDK synth, cold start), never in the middle of a run."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from imgflow.config import MAX_RENDITION_SIDE, Limits, Rendition, _renditions_from_env
from tasks.resize.renditions import render


@pytest.mark.parametrize(
    "fields",
    [
        {"max_side": 0},
        {"max_side": MAX_RENDITION_SIDE + 1},
        {"max_side": 10_000, "fit": "cover", "aspect": 0.5},  # 10000 x 20000
        {"max_side": 256, "aspect": 0},
        {"max_side": 256, "quality": 0},
        {"max_side": 256, "quality": 101},
    ],
)
def test_a_spec_no_encoder_can_meet_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="rendition 'r'"):
        Rendition("r", **fields)  # type: ignore[arg-type]


def test_the_environment_spec_is_checked_when_read() -> None:
    with pytest.raises(ValueError, match="more than 16383"):
        _renditions_from_env('[{"name": "huge", "max_side": 20000}]')


def test_the_longest_side_allowed_is_what_webp_encodes() -> None:
    # An image with alpha is encoded as WebP, whose limit is the bound (a 32 x 65535 PNG found it by fuzzing).
    with pytest.raises(ValueError, match="16383"):
        Image.new("RGBA", (32, MAX_RENDITION_SIDE + 1)).save(io.BytesIO(), "WEBP")
    buffer = io.BytesIO()
    Image.new("RGBA", (32, 20_000), (10, 20, 30, 128)).save(buffer, "PNG")
    (out,) = render(buffer.getvalue(), [Rendition("tall", MAX_RENDITION_SIDE, min_side=32)], Limits())
    assert (out.format, out.width, out.height) == ("WEBP", 32, MAX_RENDITION_SIDE)
