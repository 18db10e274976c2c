"""Renditions of an (already validated) original: cascaded Lanczos resizes from one decode. Pure image logic.

Order of work, chosen to keep CPU and peak memory low:

1. Open (allow-listed plugins, pixel limit) and read the orientation (EXIF, or XMP as Pillow surfaces it).
2. JPEG: a reduced DCT decode (1/8, 1/4, 3/8 or 1/2) when the largest rendition allows it, by the rule of
   ``imgflow.image.jpeg_scale``; the draft's box goes on to ``resize(box=...)`` so the geometry stays exact.
3. Decode once; normalise the mode (P/transparency -> RGBA, 16-bit -> 8-bit, 1 -> L).
4. Resize to the largest rendition *in stored orientation*, then drop the full-size pixels. Colour
   management (CMYK and non-sRGB ICC profiles -> sRGB) runs on that rendition, not on the full image.
5. Smaller renditions cascade from the previous one (largest -> smallest).
6. Orientation is applied to each finished rendition (a transpose of a small image is nearly free;
   resampling commutes with the 90-degree turns and flips, so the pixels match transpose-then-resize).

Planar fast path (YCbCr-coded JPEG, no ICC profile, every rendition JPEG: most camera and phone photos):
libjpeg decodes luma alone and chroma at its own, often smaller, DCT scale (no colour conversion, no chroma
upsampling; one YCbCr decode when the scales agree), luma is resampled (Lanczos) at the rendition's size and
each chroma plane (box-reduce, then bilinear) at half of it, which is all a 4:2:0 JPEG stores; the encoder
gets YCbCr (chroma repeated 2x2, which its 2x2 averaging returns exactly). Luma as the RGB path gives it
(bench/: 42-44 dB vs full-res Lanczos), about half the resampling work (one 8-bit plane at full size
instead of three), one full-size plane held at a time.

Outputs carry no metadata (no EXIF, XMP, GPS, comments) and no ICC profile: pixels are sRGB, which is what
browsers assume for untagged images (Display P3 and other wide-gamut sources are converted, perceptual
intent, through their ICC profile or, in HEIC/AVIF without one, a profile built from the nclx box:
``imgflow.image.colour``; 10-bit HEIC/AVIF arrive as 8-bit from their decoders). Geometry
(``imgflow.image.geometry``): every rendition is the whole image at one scale, cropped last (``cover`` fit,
or a panorama's long side), never upscaled;
renditions of the same geometry, format and quality share one encoding.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageFile, ImageFilter, ImageMath, ImageStat

from imgflow.config import Limits, Rendition
from imgflow.image import colour, jpeg_scale
from imgflow.image.geometry import Plan, plans
from imgflow.image.opening import TRANSPOSE, display_size, open_image, orientation, read_exif, rejecting

CONTENT_TYPES = {"JPEG": "image/jpeg", "WEBP": "image/webp", "AVIF": "image/avif", "PNG": "image/png"}
#: AVIF encoder speed (libavif 0-10): 8 keeps encode time near WebP's at a small cost in bytes (bench W).
AVIF_SPEED = 8

#: Planar path, chroma: ``jpeg_scale.CHROMA_SCALES``, a DCT scale that still decodes ~the chroma planes' size
#: (up to 5% short: chroma is stored at half resolution and the eye's acuity for it is lower still; on B's
#: 12 MP photo a 1/4 instead of a 1/2 decode saves 12 ms, 5% of render, and moves chroma PSNR vs naive from
#: 44.32 to 44.24 dB). A 4:2:0 JPEG's chroma comes out of a 1/2-scale decode exactly as stored.
#: resize() box-reduces first only while Lanczos keeps >= this factor to do (Pillow: 3.0 ~ fair resampling).
REDUCING_GAP = 3.0
#: Planar path, chroma (half size, softer to the eye): box-reduce by whole factors, then bilinear. Measured
#: (bench/README.md): chroma PSNR vs full-res Lanczos unchanged (44-45 dB), 5% less CPU than Lanczos here.
CHROMA_REDUCING_GAP = 1.0
CHROMA_FILTER = Image.Resampling.BILINEAR
#: Planar path, luma decoded at full scale (no DCT downscale possible): the first, largest step. Measured
#: (bench/README.md): 1/3 less CPU than Lanczos for that step; worst rendition 40.6 dB vs full-res Lanczos
#: on the perf photos (Lanczos there: 44-49 dB; sharp's own lanczos3: 38.0). Smaller steps and drafted
#: decodes keep Lanczos: there bicubic costs more quality (a 720-px rendition drops below 38 dB).
LUMA_FULL_SCALE_FILTER = Image.Resampling.BICUBIC
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


def render(data: bytes, spec: Sequence[Rendition], limits: Limits) -> list[RenderedImage]:
    """Encode every rendition of ``spec`` (spec order, each with its alternates) from one decode of ``data``.

    Animated images render frame 0. Raises a named rejection if the image cannot be opened or decoded.
    """
    return render_with_preview(data, spec, limits)[0]


def render_with_preview(
    data: bytes, spec: Sequence[Rendition], limits: Limits
) -> tuple[list[RenderedImage], Image.Image | None]:
    """``render``, plus the smallest scale's pixels (the whole image as displayed, uncropped): what the
    placeholder and the perceptual hash are computed from, with no further decode."""
    if not spec:
        return [], None
    im = open_image(data, limits)
    source = largest = None
    try:
        orient = orientation(read_exif(im, data))
        icc = im.info.get("icc_profile") or colour.icc_for(colour.nclx_of(im, data))  # nclx: HEIC/AVIF
        shown = display_size(im.size, orient)
        geometry = plans(shown, spec)
        ladder = sorted({g.scaled for g in geometry.values()}, key=lambda s: s[0] * s[1], reverse=True)
        if _planar(im, icc, spec):
            planes = _planar_ladder(im, data, limits, [display_size(size, orient) for size in ladder])
            stored = dict(zip(ladder, planes, strict=True))
        else:
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

    if largest is not None:
        largest = _drop_opaque_alpha(_to_srgb(largest, icc))
        stored = {ladder[0]: largest}
        for previous, size in itertools.pairwise(ladder):
            stored[size] = _resize(stored[previous], display_size(size, orient), None)
    return _finish(spec, geometry, stored, orient)


def _finish(
    spec: Sequence[Rendition],
    geometry: dict[str, Plan],
    stored: dict[tuple[int, int], Image.Image],
    orient: int | None,
) -> tuple[list[RenderedImage], Image.Image]:
    """Orient each distinct scale, crop, and encode each (geometry, format, quality) once, in spec order;
    with the smallest scale, oriented (the preview)."""
    method = TRANSPOSE.get(orient or 1)
    shaped = {size: img if method is None else img.transpose(method) for size, img in stored.items()}
    preview = shaped[min(shaped, key=lambda size: size[0] * size[1])]

    crops: dict[tuple[tuple[int, int], tuple[int, int], str], Image.Image] = {}
    encoded: dict[tuple[object, ...], bytes] = {}
    out = []
    for rendition in spec:
        plan = geometry[rendition.name]
        img = shaped[plan.scaled]
        if plan.cropped:
            key = (plan.scaled, plan.size, rendition.position)
            if key not in crops:
                crops[key] = img.crop(crop_box(img, plan.size, rendition.position))
            img = crops[key]
        for fmt in dict.fromkeys((_output_format(rendition, img), *rendition.alternates)):
            if fmt == "auto":
                continue
            cache = (plan, rendition.position, fmt, rendition.quality)
            if cache not in encoded:
                encoded[cache] = _encode(img, fmt, rendition.quality)
            out.append(RenderedImage(rendition.name, *plan.size, fmt, CONTENT_TYPES[fmt], encoded[cache]))
    return out, preview


Box4 = tuple[int, int, int, int]


def crop_box(img: Image.Image, size: tuple[int, int], position: str) -> Box4:
    """The window of ``size`` in ``img`` to keep: centred, or the best-scoring one along the cropped axis.

    "entropy": most luma entropy (detail); "attention": most edges + colour saturation + skin tones (what
    sharp's ``attention`` strategy looks for). Scored on a probe of at most ~128 px; 17 candidate offsets.
    Offsets are even, so a 2x2-subsampled YCbCr image keeps its chroma blocks aligned.
    """
    width, height = size
    excess = (img.width - width, img.height - height)
    centre = (excess[0] // 2 & ~1, excess[1] // 2 & ~1)
    if position == "centre" or (excess[0] <= 0 and excess[1] <= 0):
        return centre[0], centre[1], centre[0] + width, centre[1] + height
    axis = 0 if excess[0] >= excess[1] else 1
    scale = min(1.0, 128 / min(img.size))
    probe = img.convert("RGB").resize(
        (max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.Resampling.BOX
    )
    score_map = _entropy_map(probe) if position == "entropy" else _attention_map(probe)
    best, best_score = centre[axis], -1.0
    for step in range(17):
        offset = round(excess[axis] * step / 16) & ~1
        origin = [centre[0], centre[1]]
        origin[axis] = offset
        window = (origin[0], origin[1], origin[0] + width, origin[1] + height)
        x0, y0, x1, y1 = (round(v * scale) for v in window)
        score = score_map((x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)))
        if score > best_score + 1e-9:
            best, best_score = offset, score
    origin = [centre[0], centre[1]]
    origin[axis] = best
    return origin[0], origin[1], origin[0] + width, origin[1] + height


def _entropy_map(probe: Image.Image) -> Callable[[Box4], float]:
    luma = probe.convert("L")
    return lambda box: luma.crop(box).entropy()


def _attention_map(probe: Image.Image) -> Callable[[Box4], float]:
    edges = probe.convert("L").filter(ImageFilter.FIND_EDGES)
    saturation = probe.convert("HSV").getchannel("S")
    _, cb, cr = probe.convert("YCbCr").split()
    skin = ImageMath.lambda_eval(
        lambda a: (a["cb"] >= 77) & (a["cb"] <= 127) & (a["cr"] >= 133) & (a["cr"] <= 173), cb=cb, cr=cr
    )
    assert isinstance(skin, Image.Image)
    skin = skin.convert("L").point(lambda v: 255 if v else 0)

    def score(box: Box4) -> float:
        weighted = ((edges, 2.0), (saturation, 0.5), (skin, 0.5))
        return float(sum(ImageStat.Stat(m.crop(box)).mean[0] * w for m, w in weighted))

    return score


def _draft(
    im: ImageFile.ImageFile,
    target: tuple[int, int],
    mode: str | None = None,
    scales: tuple[tuple[int, float], ...] = jpeg_scale.SCALES,
) -> Box | None:
    """A JPEG's reduced-scale decode for ``target`` (``jpeg_scale``); the box to resize from."""
    with rejecting():
        return jpeg_scale.draft(im, target, mode, scales)


def _planar(im: ImageFile.ImageFile, icc: bytes | None, spec: Sequence[Rendition]) -> bool:
    """A YCbCr-coded colour JPEG without ICC profile whose renditions are all JPEG (see the module doc)."""
    if im.format not in ("JPEG", "MPO") or im.mode != "RGB" or icc or len(im.tile) != 1:
        return False
    if any(r.format not in ("auto", "JPEG") or r.alternates for r in spec):
        return False
    info = im.info
    if "jfif" not in info and "adobe" in info:
        return info.get("adobe_transform") != 0
    layers = getattr(im, "layer", [])
    return "jfif" in info or tuple(layer[0] for layer in layers) != _RGB_COMPONENT_IDS


def _planar_ladder(
    im: ImageFile.ImageFile, data: bytes, limits: Limits, ladder: list[tuple[int, int]]
) -> list[Image.Image]:
    """YCbCr renditions of ``ladder`` (stored orientation, largest first), plane by plane.

    When luma must be decoded at full scale, it is decoded alone (``draft("L")``: no chroma IDCT, upsampling
    or plane copies) and chroma, which needs only half the largest rendition's size, on its own at a smaller
    DCT scale (libjpeg IDCTs 4:2:0 chroma at its stored size and skips the upsampling). Otherwise, or when
    both scales agree, one YCbCr decode gives the three planes. One full-size 8-bit plane is alive at a time.
    """
    stored = im.size
    luma_box = _draft(im, ladder[0], "L")
    coloured = open_image(data, limits)
    try:
        if im.size == stored:
            chroma_box = _draft(coloured, _half(ladder[0]), "YCbCr", jpeg_scale.CHROMA_SCALES)
        else:  # a second entropy decode costs more than a reduced-scale chroma IDCT saves (bench A)
            chroma_box = _draft(coloured, ladder[0], "YCbCr")
        # The same DCT scale for both: one YCbCr decode gives all three planes (im stays undecoded).
        bands = (0, 1, 2) if coloured.size == im.size else (1, 2)
        planes = {band: _plane_ladder(coloured, band, chroma_box, ladder, stored) for band in bands}
    finally:
        coloured.close()
    if 0 not in planes:
        planes[0] = _plane_ladder(im, 0, luma_box, ladder, stored)
    out = []
    for (width, height), luma, cb, cr in zip(ladder, planes[0], planes[1], planes[2], strict=True):
        full = [c.resize((2 * c.width, 2 * c.height), Image.Resampling.NEAREST) for c in (cb, cr)]
        if full[0].size != (width, height):  # odd side: the encoder pads it by repeating the edge
            full = [c.crop((0, 0, width, height)) for c in full]
        out.append(Image.merge("YCbCr", (luma, *full)))
    return out


def _plane_ladder(
    im: ImageFile.ImageFile,
    band: int,
    box: Box | None,
    ladder: list[tuple[int, int]],
    stored: tuple[int, int],
) -> list[Image.Image]:
    """One plane (0 luma, 1-2 chroma at half size) of every rendition, from ``im``'s decode (drafted from a
    JPEG of ``stored`` size)."""
    with rejecting():
        im.load()
        plane = im if im.mode == "L" else im.getchannel(band)
    chroma = band > 0
    sizes = [_half(size) if chroma else size for size in ladder]
    source = box or (0, 0, *im.size)
    region = _chroma_box(source, ladder[0], plane.size) if chroma else source
    if chroma:
        first = CHROMA_FILTER
    else:
        first = LUMA_FULL_SCALE_FILTER if im.size == stored else Image.Resampling.LANCZOS
    out = [_resample(plane, sizes[0], region, first)]
    del plane
    for size in sizes[1:]:
        out.append(_resample(out[-1], size, None, CHROMA_FILTER if chroma else Image.Resampling.LANCZOS))
    return out


def _half(size: tuple[int, int]) -> tuple[int, int]:
    return (size[0] + 1) // 2, (size[1] + 1) // 2


def _chroma_box(box: Box, size: tuple[int, int], bounds: tuple[int, int]) -> Box:
    """The source region of a half-size chroma plane: 2 x ceil(side / 2) luma pixels, clamped to the image
    (an odd side's last chroma sample sits at most half a luma pixel off)."""
    x0, y0, x1, y1 = box
    width, height = size
    right = x0 + (x1 - x0) * 2 * ((width + 1) // 2) / width
    bottom = y0 + (y1 - y0) * 2 * ((height + 1) // 2) / height
    return x0, y0, min(right, bounds[0]), min(bottom, bounds[1])


def _resample(
    plane: Image.Image, size: tuple[int, int], box: Box | None, method: Image.Resampling
) -> Image.Image:
    if plane.size == size and box is None:
        return plane
    gap = CHROMA_REDUCING_GAP if method == CHROMA_FILTER else REDUCING_GAP
    return plane.resize(size, method, box=box, reducing_gap=gap)


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
    elif fmt == "AVIF":
        if img.mode not in ("RGB", "RGBA"):
            img = img.convert("RGBA" if img.mode == "LA" else "RGB")
        img.save(buffer, "AVIF", quality=quality, speed=AVIF_SPEED)
    else:
        img.save(buffer, "PNG")
    return buffer.getvalue()
