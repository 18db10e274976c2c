"""Placeholders (ThumbHash, dominant colour) and the perceptual hash, from pixels."""

from __future__ import annotations

import base64
import random

from PIL import Image, ImageEnhance

from imgflow import similarity
from imgflow.image.phash import phash
from imgflow.image.placeholder import dominant_colour, placeholder, thumbhash
from imgflow_tools.similar_set import scene


def test_a_thumbhash_records_aspect_and_alpha() -> None:
    wide = thumbhash(Image.new("RGBA", (32, 16), (200, 40, 40, 255)))
    tall = thumbhash(Image.new("RGBA", (16, 32), (200, 40, 40, 255)))
    clear = thumbhash(Image.new("RGBA", (32, 32), (0, 0, 0, 0)))
    assert wide[4] >> 7 == 1 and tall[4] >> 7 == 0  # the landscape bit
    assert wide[2] >> 7 == 0 and clear[2] >> 7 == 1  # the alpha bit
    assert 15 <= len(wide) <= 35


def test_the_dominant_colour_is_the_largest_cluster_not_the_mean() -> None:
    rng = random.Random(3)
    im = Image.new("RGB", (100, 100), (30, 90, 200))  # a blue sky ...
    for x in range(100):
        for y in range(60, 100):  # ... over a busy field of every colour
            im.putpixel((x, y), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    r, g, b = (int(dominant_colour(im.convert("RGBA"))[i : i + 2], 16) for i in (1, 3, 5))
    assert b > 150 and r < 80 and g < 130, (r, g, b)


def test_placeholder_is_compact_and_complete() -> None:
    made = placeholder(scene(1).resize((256, 192)))
    assert made.kind == "thumbhash" and made.color.startswith("#") and len(made.color) == 7
    assert len(base64.b64decode(made.hash)) <= 30


def test_variants_hash_close_and_unrelated_photos_far() -> None:
    photo = scene(5).resize((256, 192))
    same = {
        "brightened": ImageEnhance.Brightness(photo).enhance(1.25),
        "cropped": photo.crop((8, 6, 256, 192)).resize((248, 186)),
        "smaller": photo.resize((160, 120)),
    }
    for name, variant in same.items():
        assert similarity.distance(phash(photo), phash(variant)) <= similarity.THRESHOLD, name
    assert similarity.distance(phash(photo), phash(scene(6).resize((256, 192)))) > similarity.THRESHOLD


def test_bands_cover_the_64_bits() -> None:
    value = "f0e1d2c3b4a59687"
    bands = similarity.bands(value)
    assert len(bands) == similarity.BANDS
    assert "".join(f"{int(b.split('-')[1], 16):08b}" for b in bands) == f"{int(value, 16):064b}"
