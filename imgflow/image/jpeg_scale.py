"""libjpeg's reduced-scale decode: the DCT scale a JPEG decodes at for a target size, and asking for it.

libjpeg can decode a JPEG at M/8 of its size; the IDCT then runs on fewer pixels and no full-size buffer is
made, but the entropy decode still reads every coefficient. One rule decides the scale for ``validate`` (its
pixel budget is checked at that scale) and ``resize`` (which decodes at it).

Pillow's public ``draft()`` reaches 1/2, 1/4 and 1/8 only. 3/8 is reached the way ``draft()`` itself works:
the decoder's scale denominator is set to 3 (libjpeg rounds 1/3 to 3/8, jdmaster.c) with the decoded size
libjpeg computes, ``ceil(side * 3 / 8)``. That sets Pillow's ``decoderconfig``, tile and ``_size`` as
``draft()`` does (Pillow 13; tests/unit/test_jpeg_scale.py fails if that changes).
"""

from __future__ import annotations

import math

from PIL import ImageFile

Box = tuple[float, float, float, float]

#: The scales libjpeg decodes at, in eighths, smallest first, each with the least margin the decode must keep
#: over the target (the resample after it does the rest). 1/8 (DC only) and 1/4 (a 2x2 IDCT) alias visibly
#: closer to the target and keep 1.5x; 3/8 (a 3x3 IDCT) keeps 1.2x; 1/2 (4x4) may fall 3% short, a stretch of
#: at most 3% after the DCT downscale, so that a 12 MP phone photo (4000-4080 px) decodes at 1/2 for 2048-px
#: renditions. Measured against full-resolution Lanczos over 10 perf and camera photos (bench/README.md):
#: worst 38.4 dB, SSIM 0.980 (1/2 at 0.97-1.2x; 3/8 and 1/2 at 1.2x and up: 39.0 dB; the old rule, 1.5x at
#: every scale and no 3/8: 39.2 dB); 1.0x at every scale fell to 34 dB (1/8 and 1/4).
SCALES: tuple[tuple[int, float], ...] = ((1, 1.5), (2, 1.5), (3, 1.2), (4, 0.97))
#: Chroma decoded on its own (resize's planar path): any power-of-two scale that holds ~the planes' size.
#: 3/8 is left out: its 6x6 chroma IDCT cost more than the 1/2 decode it replaced (measured, iPhone 8 MP).
CHROMA_SCALES: tuple[tuple[int, float], ...] = ((1, 0.95), (2, 0.95), (4, 0.95))


def decoded_size(size: tuple[int, int], eighths: int) -> tuple[int, int]:
    """The size libjpeg decodes ``size`` to at ``eighths``/8 (jdmaster.c: rounded up)."""
    return math.ceil(size[0] * eighths / 8), math.ceil(size[1] * eighths / 8)


def eighths_for(
    size: tuple[int, int], target: tuple[int, int], scales: tuple[tuple[int, float], ...] = SCALES
) -> int:
    """The smallest DCT scale (eighths, 8 is full size) whose decode keeps its margin over ``target``."""
    for eighths, gap in scales:
        width, height = decoded_size(size, eighths)
        if width >= target[0] * gap and height >= target[1] * gap:
            return eighths
    return 8


def draft(
    im: ImageFile.ImageFile,
    target: tuple[int, int],
    mode: str | None = None,
    scales: tuple[tuple[int, float], ...] = SCALES,
) -> Box | None:
    """Have ``im`` (a JPEG, not yet loaded) decode at the scale ``eighths_for`` picks; the box to resize from.

    ``mode`` "L" decodes luma alone, "YCbCr" the colour space as stored (applied to RGB JPEGs only).
    None when ``im`` is not a single-tile JPEG or was drafted already.
    """
    if im.format not in ("JPEG", "MPO") or len(im.tile) != 1 or im.decoderconfig:
        return None
    stored = im.size
    eighths = eighths_for(stored, target, scales)
    if eighths in (1, 2, 4, 8):
        # draft() takes the largest of 8, 4, 2, 1 <= side // request: this request gives 8 // eighths
        # (a side shorter than the denominator gets what draft() can give; its box stays exact).
        denominator = 8 // eighths
        request = (max(1, stored[0] // denominator), max(1, stored[1] // denominator))
        drafted = im.draft(mode, request)
        return drafted[1] if drafted else None
    if eighths != 3:
        raise ValueError(f"libjpeg reaches {eighths}/8 only through draft()")  # 1/3 is the one it rounds up
    if im.draft(mode, None) is None:  # the mode, as draft() sets it; then the scale, as draft() would
        return None
    size = decoded_size(stored, eighths)
    tile = im.tile[0]
    assert tile.extents is not None
    x0, y0 = tile.extents[:2]
    im.tile = [tile._replace(extents=(x0, y0, x0 + size[0], y0 + size[1]))]
    im._size = size
    im.decoderconfig = (3, 0)  # scale_denom 3
    return 0.0, 0.0, stored[0] * eighths / 8, stored[1] * eighths / 8
