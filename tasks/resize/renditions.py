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

Planar fast path (YCbCr-coded JPEG, no ICC profile, every rendition JPEG: most camera and phone photos):
libjpeg decodes to YCbCr (no colour conversion), luma is resampled (Lanczos) at the rendition's size and
each chroma plane (box-reduce, then bilinear) at half of it, which is all a 4:2:0 JPEG stores; the encoder
gets YCbCr (chroma repeated 2x2, which its 2x2 averaging returns exactly). Luma as the RGB path gives it
(bench/: 42-44 dB vs full-res Lanczos), about half the resampling work (one 8-bit plane at full size
instead of three), one full-size plane held at a time.

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
#: Planar path, chroma (half size, softer to the eye): box-reduce by whole factors, then bilinear. Measured
#: (bench/README.md): chroma PSNR vs full-res Lanczos unchanged (44-45 dB), 5% less CPU than Lanczos here.
CHROMA_REDUCING_GAP = 1.0
CHROMA_FILTER = Image.Resampling.BILINEAR
#: libjpeg's colour-space guess for 3 components (jdapimin.c): component ids "R", "G", "B" mean RGB-coded.
_RGB_COMPONENT_IDS = (82, 71, 66)
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
    source = largest = None
    try:
        orient = orientation(read_exif(im, data))
        icc = im.info.get("icc_profile")
        shown = display_size(im.size, orient)
        sizes = {r.name: _fit(shown, r.max_side) for r in spec}
        ladder = sorted(set(sizes.values()), key=lambda s: s[0] * s[1], reverse=True)
        planar = _planar(im, icc, spec)
        box = _draft(im, display_size(ladder[0], orient), "YCbCr" if planar else None)
        if planar and im.mode == "YCbCr":
            planes = _planar_ladder(im, [display_size(size, orient) for size in ladder], box)
            stored = dict(zip(ladder, planes, strict=True))
        else:
            with rejecting():
                im.load()
                source = _normalise(im)
                largest = _resize(source, display_size(ladder[0], orient), box)
                if largest is im:  # no resampling needed; closing im below would invalidate it
                    largest = im.copy()
    finally:
        im.close()
    del source  # with im closed, the full-size pixels are freed here

    if largest is not None:
        largest = _drop_opaque_alpha(_to_srgb(largest, icc))
        stored = {ladder[0]: largest}
        for previous, size in itertools.pairwise(ladder):
            stored[size] = _resize(stored[previous], display_size(size, orient), None)
    return _finish(spec, sizes, stored, orient)


def _finish(
    spec: Sequence[Rendition],
    sizes: dict[str, tuple[int, int]],
    stored: dict[tuple[int, int], Image.Image],
    orient: int | None,
) -> list[RenderedImage]:
    """Orient each distinct size and encode each (size, format, quality) once, in spec order."""
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


def _draft(im: ImageFile.ImageFile, target: tuple[int, int], mode: str | None = None) -> Box | None:
    """Ask libjpeg for a 1/2, 1/4 or 1/8 scale decode still >= DRAFT_GAP x target; the box to resize from.

    ``mode="YCbCr"`` also asks for the decoded colour space as stored (Pillow applies it to RGB JPEGs only).
    """
    if im.format not in ("JPEG", "MPO"):
        return None
    request = (math.ceil(target[0] * DRAFT_GAP), math.ceil(target[1] * DRAFT_GAP))
    with rejecting():
        drafted = im.draft(mode, request)
    return drafted[1] if drafted else None


def _planar(im: Image.Image, icc: bytes | None, spec: Sequence[Rendition]) -> bool:
    """A YCbCr-coded colour JPEG without ICC profile whose renditions are all JPEG (see the module doc)."""
    if im.format not in ("JPEG", "MPO") or im.mode != "RGB" or icc:
        return False
    if any(r.format not in ("auto", "JPEG") for r in spec):
        return False
    info = im.info
    if "jfif" not in info and "adobe" in info:
        return info.get("adobe_transform") != 0
    layers = getattr(im, "layer", [])
    return "jfif" in info or tuple(layer[0] for layer in layers) != _RGB_COMPONENT_IDS


def _planar_ladder(
    im: ImageFile.ImageFile, ladder: list[tuple[int, int]], box: Box | None
) -> list[Image.Image]:
    """YCbCr renditions of ``ladder`` (stored orientation, largest first) from one decode, plane by plane."""
    source = box or (0, 0, *im.size)
    with rejecting():
        im.load()
    planes: list[list[Image.Image]] = []
    for band in range(3):
        with rejecting():
            plane = im.getchannel(band)
        chroma = band > 0
        sizes = [((w + 1) // 2, (h + 1) // 2) if chroma else (w, h) for w, h in ladder]
        region = _chroma_box(source, ladder[0], plane.size) if chroma else source
        ladder_planes = [_resample(plane, sizes[0], region, chroma)]
        del plane  # the full-size plane: only one of the three is alive at a time
        for size in sizes[1:]:
            ladder_planes.append(_resample(ladder_planes[-1], size, None, chroma))
        planes.append(ladder_planes)
    out = []
    for (width, height), (luma, cb, cr) in zip(ladder, zip(*planes, strict=True), strict=True):
        full = [c.resize((2 * c.width, 2 * c.height), Image.Resampling.NEAREST) for c in (cb, cr)]
        if full[0].size != (width, height):  # odd side: the encoder pads it by repeating the edge
            full = [c.crop((0, 0, width, height)) for c in full]
        out.append(Image.merge("YCbCr", (luma, *full)))
    return out


def _chroma_box(box: Box, size: tuple[int, int], bounds: tuple[int, int]) -> Box:
    """The source region of a half-size chroma plane: 2 x ceil(side / 2) luma pixels, clamped to the image
    (an odd side's last chroma sample sits at most half a luma pixel off)."""
    x0, y0, x1, y1 = box
    width, height = size
    right = x0 + (x1 - x0) * 2 * ((width + 1) // 2) / width
    bottom = y0 + (y1 - y0) * 2 * ((height + 1) // 2) / height
    return x0, y0, min(right, bounds[0]), min(bottom, bounds[1])


def _resample(plane: Image.Image, size: tuple[int, int], box: Box | None, chroma: bool) -> Image.Image:
    if plane.size == size and box is None:
        return plane
    if chroma:
        return plane.resize(size, CHROMA_FILTER, box=box, reducing_gap=CHROMA_REDUCING_GAP)
    return plane.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=REDUCING_GAP)


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
