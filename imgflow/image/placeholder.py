"""A placeholder a page can paint before any rendition loads: a ThumbHash and the dominant colour. Pure logic.

ThumbHash (Evan Wallace's format, implemented here from its description): a DCT of luminance (up to 7x7
terms), two chroma planes (3x3) and alpha (5x5), quantised to 4 bits each behind a 5- or 6-byte header that
also records the aspect ratio and whether there is alpha; 20-30 bytes, base64 about 28-40 characters.
The web page decodes it (``web/src/thumbhash.js``).

Input is the smallest rendition's pixels, already decoded by resize: the encoder works on at most
``MAX_SIDE`` px (the hash keeps only the lowest frequencies), so it costs ~2 ms of pure Python.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from operator import mul

from PIL import Image

#: The encoder's input: longest side in pixels (ThumbHash's own limit is 100; its terms go up to 7 cycles).
MAX_SIDE = 32
#: The dominant colour: the encoder's input cut into this many colour clusters.
COLOUR_CLUSTERS = 6


@dataclass(frozen=True)
class Placeholder:
    kind: str
    hash: str
    color: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "hash": self.hash, "color": self.color}


def placeholder(img: Image.Image) -> Placeholder:
    """ThumbHash and dominant colour of ``img`` (any mode Pillow converts to RGBA; display orientation)."""
    rgba = _rgba(img)
    small = _fit(rgba, MAX_SIDE)
    return Placeholder("thumbhash", base64.b64encode(thumbhash(small)).decode(), dominant_colour(small))


def _rgba(img: Image.Image) -> Image.Image:
    if img.mode == "RGBA":
        return img
    if img.mode in ("LA", "PA", "La", "RGBa"):
        return img.convert("RGBA")
    return img.convert("RGB").convert("RGBA")


def _fit(img: Image.Image, side: int) -> Image.Image:
    scale = side / max(img.size)
    if scale >= 1:
        return img
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.BOX)


def dominant_colour(img: Image.Image) -> str:
    """The colour a person would name: the biggest cluster of a median-cut palette (not the mean, which
    turns a busy picture to mud); fully transparent pixels do not count."""
    small = _fit(img, MAX_SIDE)
    alpha = small.getchannel("A")
    rgb = small.convert("RGB")
    lowest = alpha.getextrema()[0]
    if isinstance(lowest, int) and lowest < 128:
        opaque = [p for p, a in zip(rgb.getdata(), alpha.getdata(), strict=True) if a >= 128]
        if not opaque:
            return "#000000"
        rgb = Image.new("RGB", (len(opaque), 1))
        rgb.putdata(opaque)
    quantised = rgb.quantize(colors=COLOUR_CLUSTERS, method=Image.Quantize.MEDIANCUT)
    palette = quantised.getpalette() or []
    counts: list[tuple[int, int]] = quantised.getcolors() or [(1, 0)]  # type: ignore[assignment]
    index = max(counts)[1]  # a P image: (count, palette index)
    r, g, b = palette[3 * index : 3 * index + 3]
    return f"#{r:02x}{g:02x}{b:02x}"


def _channel(values: list[float], w: int, h: int, nx: int, ny: int) -> tuple[float, list[float], float]:
    """DC, AC terms (triangle ``cx * ny < nx * (ny - cy)``, row by row) and the AC scale of one plane.

    Separable: each row is first reduced to its ``nx`` horizontal terms, then the columns of those.
    """
    fx = [[math.cos(math.pi / w * cx * (x + 0.5)) for x in range(w)] for cx in range(nx)]
    fy = [[math.cos(math.pi / h * cy * (y + 0.5)) for y in range(h)] for cy in range(ny)]
    rows = [[sum(map(mul, values[y * w : (y + 1) * w], fx[cx])) for y in range(h)] for cx in range(nx)]
    dc, ac, scale = 0.0, [], 0.0
    for cy in range(ny):
        cx = 0
        while cx * ny < nx * (ny - cy):
            f = sum(map(mul, rows[cx], fy[cy])) / (w * h)
            if cx or cy:
                ac.append(f)
                scale = max(scale, abs(f))
            else:
                dc = f
            cx += 1
    if scale > 0:
        ac = [0.5 + 0.5 / scale * v for v in ac]
    return dc, ac, scale


def thumbhash(img: Image.Image) -> bytes:
    """The ThumbHash bytes of an RGBA image of at most 100x100 px."""
    w, h = img.size
    if w > 100 or h > 100:
        raise ValueError(f"{w}x{h} does not fit in 100x100")
    raw = img.tobytes()
    red, green, blue, alphas = raw[0::4], raw[1::4], raw[2::4], raw[3::4]
    count = w * h
    total_a = sum(alphas) / 255
    has_alpha = total_a < count
    if has_alpha:
        a_ch = [a / 255 for a in alphas]
        avg = [sum(map(mul, plane, a_ch)) / 255 / total_a if total_a else 0.0 for plane in (red, green, blue)]
        # composite atop the average colour
        r_ch, g_ch, b_ch = (
            [m * (1 - a) + a / 255 * v for v, a in zip(plane, a_ch, strict=True)]
            for m, plane in zip(avg, (red, green, blue), strict=True)
        )
    else:
        a_ch = []
        r_ch, g_ch, b_ch = ([v / 255 for v in plane] for plane in (red, green, blue))
    l_limit = 5 if has_alpha else 7
    lx = max(1, round(l_limit * w / max(w, h)))
    ly = max(1, round(l_limit * h / max(w, h)))
    # L (luminance), P (yellow - blue), Q (red - green)
    lum = [(r + g + b) / 3 for r, g, b in zip(r_ch, g_ch, b_ch, strict=True)]
    p_ch = [(r + g) / 2 - b for r, g, b in zip(r_ch, g_ch, b_ch, strict=True)]
    q_ch = [r - g for r, g in zip(r_ch, g_ch, strict=True)]
    l_dc, l_ac, l_scale = _channel(lum, w, h, max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = _channel(p_ch, w, h, 3, 3)
    q_dc, q_ac, q_scale = _channel(q_ch, w, h, 3, 3)
    a_dc, a_ac, a_scale = _channel(a_ch, w, h, 5, 5) if has_alpha else (1.0, [], 0.0)

    landscape = w > h
    header24 = (
        round(63 * l_dc)
        | round(31.5 + 31.5 * p_dc) << 6
        | round(31.5 + 31.5 * q_dc) << 12
        | round(31 * l_scale) << 18
        | (1 << 23 if has_alpha else 0)
    )
    header16 = (
        (ly if landscape else lx)
        | round(63 * p_scale) << 3
        | round(63 * q_scale) << 9
        | (1 << 15 if landscape else 0)
    )
    ac_start = 6 if has_alpha else 5
    terms = l_ac + p_ac + q_ac + (a_ac if has_alpha else [])
    out = bytearray(ac_start + (len(terms) + 1) // 2)
    out[0:5] = bytes((header24 & 255, header24 >> 8 & 255, header24 >> 16, header16 & 255, header16 >> 8))
    if has_alpha:
        out[5] = round(15 * a_dc) | round(15 * a_scale) << 4
    for i, v in enumerate(terms):
        out[ac_start + (i >> 1)] |= round(15 * v) << ((i & 1) << 2)
    return bytes(out)
