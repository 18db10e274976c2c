"""A 64-bit perceptual hash (pHash) and its LSH bands. Pure logic.

pHash: the image as 32x32 grey, its 2-D DCT, the 8x8 lowest frequencies, each bit "above the median of the
63 AC terms". Resizing, recompression, a small crop, brightness and EXIF rotation (hashed as displayed)
move few bits; different photos differ in ~32. Input is the smallest rendition resize already decoded.

Which hashes count as near duplicates, and how they are found: ``imgflow.similarity``.
"""

from __future__ import annotations

import math
from functools import cache
from operator import mul

from PIL import Image

SIDE = 32
TERMS = 8


@cache
def _basis() -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(math.cos(math.pi / SIDE * k * (n + 0.5)) for n in range(SIDE)) for k in range(TERMS))


def phash(img: Image.Image) -> str:
    """16 hex digits: the pHash of ``img`` (any mode; display orientation)."""
    grey = img.getchannel(0) if img.mode in ("L", "LA", "YCbCr") else img.convert("L")
    if grey.size != (SIDE, SIDE):
        grey = grey.resize((SIDE, SIDE), Image.Resampling.BOX)
    pixels = grey.tobytes()
    basis = _basis()
    rows = [
        [sum(map(mul, pixels[y * SIDE : (y + 1) * SIDE], basis[u])) for y in range(SIDE)]
        for u in range(TERMS)
    ]
    terms = [sum(map(mul, rows[u], basis[v])) for v in range(TERMS) for u in range(TERMS)]
    ac = terms[1:]
    median = sorted(ac)[len(ac) // 2]
    value = 0
    for term in terms:
        value = value << 1 | (term > median)
    return f"{value:016x}"
