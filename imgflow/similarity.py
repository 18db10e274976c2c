"""Near duplicates by perceptual hash (``imgflow.image.phash``): the distance, the threshold, the LSH bands.

Near duplicates are images within ``THRESHOLD`` bits, chosen from ``python -m bench S`` (bench/README.md):
variants of a photo (resized and recompressed, 3% cropped, brightened, EXIF-rotated) came within 14 bits,
unrelated photos no closer than 18; at 12, 98.7% of the variant pairs and no unrelated pair.
They are found by index lookups (LSH): the hash is cut into ``BANDS`` bands of 8 bits, one item per band,
and a Query per band reads the images that share it, never a Scan. Pigeonhole would need THRESHOLD + 1
bands to find every pair within THRESHOLD (13 bands of 5 bits: 40% of unrelated images read as candidates);
8 bands found 98.4% of the variant pairs and read 4.1%. Pure arithmetic (no Pillow): record and the API.
"""

from __future__ import annotations

#: Bits two hashes may differ by and still be near duplicates.
THRESHOLD = 12
#: LSH bands of the 64 bits (8 bits each).
BANDS = 8


def distance(a: str, b: str) -> int:
    """Hamming distance of two hashes (hex)."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def bands(value: str, count: int = BANDS) -> list[str]:
    """``count`` bands of the 64 bits (as even as they go), each ``<index>-<bits as hex>``."""
    bits = int(value, 16)
    out = []
    start = 0
    for i in range(count):
        width = 64 // count + (1 if i < 64 % count else 0)
        part = bits >> (64 - start - width) & ((1 << width) - 1)
        out.append(f"{i}-{part:x}")
        start += width
    return out
