"""Renditions of an (already validated) original: one decode, cascaded Lanczos resizes. Pure image logic.

Order of work, chosen to keep CPU and peak memory low:

1. Open (allow-listed plugins, pixel limit) and read the orientation (EXIF, or XMP as Pillow surfaces it).
2. JPEG: ``draft()`` a reduced DCT decode when the largest rendition is at most 1/``DRAFT_GAP`` of a 1/2, 1/4
   or 1/8 scale; draft()'s box goes on to ``resize(box=...)`` so the geometry stays exact.
3. Decode once; normalise the mode (P/transparency -> RGBA, 16-bit -> 8-bit, 1 -> L).
4. Resize to the largest rendition *in stored orientation*, then drop the full-size pixels. Colour
   management (CMYK and non-sRGB ICC profiles -> sRGB) runs on that rendition, not on the full image.
5. Smaller renditions cascade from the previous one (largest -> smallest).
6. Orientation is applied to each finished rendition (a transpose of a small image is nearly free;
   resampling commutes with the 90-degree turns and flips, so the pixels match transpose-then-resize).

Outputs carry no metadata (no EXIF, XMP, GPS, comments) and no ICC profile: pixels are sRGB, which is what
browsers assume for untagged images. Longest side <= ``max_side``, never upscaled: a small original yields
every rendition at its own size (renditions of the same size, format and quality share one encoding).
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageFile, ImageMath

from imgflow.config import Rendition
from imgflow.imaging import TRANSPOSE, display_size, open_image, orientation, read_exif, rejecting

CONTENT_TYPES = {"JPEG": "image/jpeg", "WEBP": "image/webp", "PNG": "image/png"}

#: JPEG DCT-domain downscale only while the decoded image stays >= this many times the largest rendition.
DRAFT_GAP = 1.5
#: resize() box-reduces first only while Lanczos keeps >= this factor to do (Pillow: 3.0 ~ fair resampling).
REDUCING_GAP = 3.0
#: Background for alpha flattened into JPEG.
FLATTEN_BACKGROUND = (255, 255, 255)


@dataclass(frozen=True)
class RenderedImage:
    """One encoded rendition, oriented as displayed."""

    name: str
    width: int
    height: int
    format: str
    content_type: str
    data: bytes


def render(data: bytes, spec: Sequence[Rendition], *, max_pixels: int) -> list[RenderedImage]:
    """Encode every rendition of ``spec`` (in spec order) from one decode of ``data``.

    Animated images render frame 0. Raises a named rejection if the image cannot be opened or decoded.
    """
    if not spec:
        return []
    im = open_image(data, max_pixels=max_pixels)
    try:
        orient = orientation(read_exif(im, data))
        icc = im.info.get("icc_profile")
        shown = display_size(im.size, orient)
        sizes = {r.name: _fit(shown, r.max_side) for r in spec}
        ladder = sorted(set(sizes.values()), key=lambda s: s[0] * s[1], reverse=True)
        box = _draft(im, display_size(ladder[0], orient))
        with rejecting():
            im.load()
            source = _normalise(im)
            largest = _resize(source, display_size(ladder[0], orient), box)
            if largest is im:  # no resampling needed; closing im below would invalidate it
                largest = im.copy()
    finally:
        im.close()
    del source  # with im closed, the full-size pixels are freed here

    largest = _drop_opaque_alpha(_to_srgb(largest, icc))
    stored = {ladder[0]: largest}
    for previous, size in itertools.pairwise(ladder):
        stored[size] = _resize(stored[previous], display_size(size, orient), None)
    method = TRANSPOSE.get(orient or 1)
    shaped = {size: img if method is None else img.transpose(method) for size, img in stored.items()}

    encoded: dict[tuple[tuple[int, int], str, int], bytes] = {}
    out = []
    for rendition in spec:
        size = sizes[rendition.name]
        img = shaped[size]
        fmt = _output_format(rendition, img)
        key = (size, fmt, rendition.quality)
        if key not in encoded:
            encoded[key] = _encode(img, fmt, rendition.quality)
        out.append(RenderedImage(rendition.name, *size, fmt, CONTENT_TYPES[fmt], encoded[key]))
    return out


def _fit(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """Longest side at most ``max_side``, aspect kept, never upscaled, never below 1 px."""
    width, height = size
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _draft(im: ImageFile.ImageFile, target: tuple[int, int]) -> Box | None:
    """Ask libjpeg for a 1/2, 1/4 or 1/8 scale decode still >= DRAFT_GAP x target; the box to resize from."""
    if im.format not in ("JPEG", "MPO"):
        return None
    request = (math.ceil(target[0] * DRAFT_GAP), math.ceil(target[1] * DRAFT_GAP))
    with rejecting():
        drafted = im.draft(None, request)
    return drafted[1] if drafted else None


def _normalise(im: Image.Image) -> Image.Image:
    """One of L, LA, RGB, RGBA or CMYK, 8 bits per channel, transparency as an alpha channel."""
    mode, transparent = im.mode, "transparency" in im.info
    if (mode in ("L", "RGB") and not transparent) or mode in ("LA", "RGBA", "CMYK"):
        return im
    if mode.startswith("I"):
        return _from_16bit(im)
    if mode == "1":
        return im.convert("L")
    if mode == "L":
        return im.convert("LA")
    return im.convert("RGBA" if transparent or mode in ("PA", "La", "RGBa") else "RGB")


def _from_16bit(im: Image.Image) -> Image.Image:
    """16-bit grey to 8-bit L (convert("L") would clip, not scale), tRNS to an exact alpha channel."""
    wide = im.convert("I")
    grey = wide.point(lambda v: v / 256).convert("L")
    transparent = im.info.get("transparency")
    if not isinstance(transparent, int):
        return grey
    opaque = ImageMath.lambda_eval(lambda args: args["im"] != transparent, im=wide)
    assert isinstance(opaque, Image.Image)
    return Image.merge("LA", (grey, opaque.convert("L").point([0] + [255] * 255)))


Box = tuple[float, float, float, float]


def _resize(img: Image.Image, size: tuple[int, int], box: Box | None) -> Image.Image:
    if img.size == size and box is None:
        return img
    return img.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=REDUCING_GAP)


def _to_srgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    """Colour-manage through the embedded profile when it is valid and fits the mode; else plain CMYK->RGB."""
    if icc and img.mode in ("RGB", "RGBA", "CMYK"):
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if profile.profile.xcolor_space.strip() == ("CMYK" if img.mode == "CMYK" else "RGB"):
                managed = ImageCms.profileToProfile(
                    img,
                    profile,
                    ImageCms.createProfile("sRGB"),
                    renderingIntent=ImageCms.Intent.PERCEPTUAL,
                    outputMode="RGB" if img.mode == "CMYK" else img.mode,
                )
                if managed is not None:  # None only with inPlace=True
                    return managed
        except (OSError, ValueError, TypeError, ImageCms.PyCMSError):
            pass  # bogus or unusable profile (e.g. icc-after-SOF.jpg): treat as untagged
    return img.convert("RGB") if img.mode == "CMYK" else img


def _drop_opaque_alpha(img: Image.Image) -> Image.Image:
    """An alpha channel that is 255 everywhere carries nothing: drop it (so "auto" picks JPEG)."""
    if img.mode in ("LA", "RGBA") and img.getchannel("A").getextrema()[0] == 255:
        return img.convert(img.mode[:-1])
    return img


def _output_format(rendition: Rendition, img: Image.Image) -> str:
    if rendition.format != "auto":
        return rendition.format
    return "WEBP" if img.mode in ("LA", "RGBA") else "JPEG"


def _encode(img: Image.Image, fmt: str, quality: int) -> bytes:
    if fmt == "JPEG" and img.mode in ("LA", "RGBA"):
        background = FLATTEN_BACKGROUND[0] if img.mode == "LA" else FLATTEN_BACKGROUND
        flat = Image.new(img.mode[:-1], img.size, background)
        flat.paste(img, mask=img.getchannel("A"))
        img = flat
    # resize/transpose/ImageCms carry info over (exif, xmp, comment, icc_profile) and some savers read it.
    img.info = {}
    buffer = io.BytesIO()
    if fmt == "JPEG":
        img.save(buffer, "JPEG", quality=quality)
    elif fmt == "WEBP":
        img.save(buffer, "WEBP", quality=quality)
    else:
        img.save(buffer, "PNG")
    return buffer.getvalue()
