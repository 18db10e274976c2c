"""A generated set for near-duplicate measurements: photos, their variants, and unrelated photos.

Each photo forms a group with four variants a person would call "the same picture": resized to 60% and
recompressed (q 60), cropped by 3% (from the top-left corner), brightened by 25%, and EXIF-rotated (pixels
stored turned, with the orientation tag that turns them back). Photos of different groups are unrelated.
Photos: ``generated_photos`` (seeded scenes, always available) plus the camera and phone photos of the
shared corpus when present (``../shared/corpus``; burst/HDR pairs and orientation copies left out).
"""

from __future__ import annotations

import io
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

VARIANTS = ("original", "recompressed", "cropped", "brightened", "rotated")
#: Corpus files that are copies of another one's picture (not unrelated), or not photos.
_CORPUS_SKIP = ("orientation/", "hdr/", "invalid/", "_photoshop_import", "xmp/", "tests/", "PaintTool")


@dataclass(frozen=True)
class Item:
    group: str
    variant: str
    data: bytes


def _jpeg(im: Image.Image, quality: int = 88, exif: Image.Exif | None = None) -> bytes:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, "JPEG", quality=quality, exif=exif or Image.Exif())
    return buf.getvalue()


def scene(seed: int, size: tuple[int, int] = (960, 720)) -> Image.Image:
    """A seeded photo-like picture: a gradient sky, soft shapes of many colours, some texture."""
    rng = random.Random(seed)
    w, h = size
    top = tuple(rng.randrange(256) for _ in range(3))
    bottom = tuple(rng.randrange(256) for _ in range(3))
    mask = Image.linear_gradient("L").resize(size)
    im = Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)
    draw = ImageDraw.Draw(im)
    for _ in range(rng.randrange(8, 24)):
        x, y = rng.randrange(w), rng.randrange(h)
        rx, ry = rng.randrange(w // 16, w // 3), rng.randrange(h // 16, h // 3)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse([x - rx, y - ry, x + rx, y + ry], fill=colour)
        else:
            draw.rectangle([x - rx, y - ry, x + rx, y + ry], fill=colour)
    im = im.filter(ImageFilter.GaussianBlur(rng.uniform(1, 6)))
    noise = Image.effect_noise(size, rng.uniform(8, 30)).convert("RGB")
    return Image.blend(im, noise, 0.08)


def variants(im: Image.Image) -> dict[str, bytes]:
    """The five files of one group (see the module doc)."""
    w, h = im.size
    rotated = Image.Exif()
    rotated[0x0112] = 6  # stored turned 90 degrees counter-clockwise: the viewer turns it back
    return {
        "original": _jpeg(im),
        "recompressed": _jpeg(im.resize((w * 3 // 5, h * 3 // 5), Image.Resampling.LANCZOS), quality=60),
        "cropped": _jpeg(im.crop((round(w * 0.03), round(h * 0.03), w, h))),
        "brightened": _jpeg(ImageEnhance.Brightness(im).enhance(1.25)),
        "rotated": _jpeg(im.transpose(Image.Transpose.ROTATE_90), exif=rotated),
    }


def generated_photos(count: int) -> Iterator[tuple[str, Image.Image]]:
    for seed in range(count):
        yield f"scene-{seed}", scene(seed)


def corpus_photos(root: Path | None = None) -> Iterator[tuple[str, Image.Image]]:
    """The corpus' camera and phone JPEGs, shown as displayed (EXIF orientation applied), at most 1024 px."""
    root = root or Path(
        os.environ.get("IMGFLOW_CORPUS", Path(__file__).resolve().parents[2] / "shared/corpus")
    )
    folders = [root / "exif-camera" / "jpg", root / "perf"]
    for path in sorted(p for folder in folders if folder.is_dir() for p in folder.rglob("*.jpg")):
        name = str(path.relative_to(root))
        if any(skip in name for skip in _CORPUS_SKIP):
            continue
        try:
            with Image.open(path) as opened:
                opened.draft("RGB", (1024, 1024))
                im = opened.convert("RGB")
                orientation = opened.getexif().get(0x0112, 1)
        except (OSError, ValueError):
            continue
        if min(im.size) < 64:
            continue
        im.thumbnail((1024, 1024))
        transposes = {
            3: Image.Transpose.ROTATE_180,
            6: Image.Transpose.ROTATE_270,
            8: Image.Transpose.ROTATE_90,
        }
        if orientation in transposes:
            im = im.transpose(transposes[orientation])
        yield name, im


def near_duplicate_set(generated: int = 40, corpus: bool = True) -> list[Item]:
    """Every file of every group: ``generated`` seeded scenes, plus the corpus photos (asked and present)."""
    photos = list(generated_photos(generated))
    if corpus:
        photos += list(corpus_photos())
    return [Item(group, variant, data) for group, im in photos for variant, data in variants(im).items()]
