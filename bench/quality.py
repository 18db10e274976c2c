"""Output quality against a reference encoding: PSNR and SSIM on luma (ITU-R 601 Y, as JPEG stores it).

SSIM is the standard one (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, L 255,
mean over the valid region. Both images are decoded and compared at the same size.
"""

from __future__ import annotations

import io

import numpy as np
from numpy.typing import NDArray
from PIL import Image

Plane = NDArray[np.float64]


def luma(data: bytes) -> Plane:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("YCbCr").getchannel(0), dtype=np.float64)


def chroma(data: bytes) -> Plane:
    with Image.open(io.BytesIO(data)) as im:
        ycc = im.convert("YCbCr")
        return np.stack([np.asarray(ycc.getchannel(i), dtype=np.float64) for i in (1, 2)])


def psnr(a: Plane, b: Plane) -> float:
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _gaussian(plane: Plane) -> Plane:
    x = np.arange(11) - 5
    kernel = np.exp(-(x**2) / (2 * 1.5**2))
    kernel /= kernel.sum()
    rows = np.zeros((plane.shape[0], plane.shape[1] - 10))
    for i in range(11):
        rows += kernel[i] * plane[:, i : plane.shape[1] - 10 + i]
    out = np.zeros((rows.shape[0] - 10, rows.shape[1]))
    for i in range(11):
        out += kernel[i] * rows[i : rows.shape[0] - 10 + i, :]
    return out


def ssim(a: Plane, b: Plane) -> float:
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = _gaussian(a), _gaussian(b)
    var_a = _gaussian(a * a) - mu_a**2
    var_b = _gaussian(b * b) - mu_b**2
    cov = _gaussian(a * b) - mu_a * mu_b
    score = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(score.mean())


def compare(outputs: list[bytes], references: list[bytes]) -> tuple[float, float, float]:
    """Worst (lowest) luma PSNR dB, luma SSIM and chroma PSNR dB over pairs of encodings of the same size."""
    scores = []
    for out, ref in zip(outputs, references, strict=True):
        a, b = luma(out), luma(ref)
        if a.shape != b.shape:
            raise ValueError(f"sizes differ: {a.shape} vs {b.shape}")
        scores.append((psnr(a, b), ssim(a, b), psnr(chroma(out), chroma(ref))))
    return min(s[0] for s in scores), min(s[1] for s in scores), min(s[2] for s in scores)
