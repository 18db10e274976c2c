"""Rendition geometry (pure arithmetic): how much an original is scaled for each rendition, what is cropped.

Every rendition is the whole original scaled by one factor (``scaled``, in display orientation), then
optionally cropped to ``size``: renditions of one image therefore form a ladder of scales that cascades
largest to smallest, and the crop is the last, cheap step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from imgflow.config import Rendition


@dataclass(frozen=True)
class Plan:
    """The original scaled to ``scaled`` (display orientation), then cropped to ``size`` when they differ."""

    scaled: tuple[int, int]
    size: tuple[int, int]

    @property
    def cropped(self) -> bool:
        return self.scaled != self.size


def _scaled(shown: tuple[int, int], scale: float) -> tuple[int, int]:
    return max(1, round(shown[0] * scale)), max(1, round(shown[1] * scale))


def plan(shown: tuple[int, int], rendition: Rendition) -> Plan:
    """The geometry of ``rendition`` for an original displayed at ``shown`` (never upscaled)."""
    width, height = shown
    if rendition.fit == "cover":
        target_w = rendition.max_side
        target_h = max(1, round(rendition.max_side / rendition.aspect))
        scale = min(1.0, max(target_w / width, target_h / height))
        scaled = _scaled(shown, scale)
        if scale >= 1.0:  # smaller than the target: the largest window of the target's aspect
            target_w = min(scaled[0], round(scaled[1] * rendition.aspect))
            target_h = min(scaled[1], round(scaled[0] / rendition.aspect))
        return Plan(scaled, (max(1, min(target_w, scaled[0])), max(1, min(target_h, scaled[1]))))
    scale = min(1.0, rendition.max_side / max(width, height))
    short = min(width, height)
    wanted_short = min(rendition.min_side, short)
    if short * scale < wanted_short:  # a panorama: keep a usable short side, crop the long one
        scale = min(1.0, wanted_short / short)
    scaled = _scaled(shown, scale)
    return Plan(scaled, (min(scaled[0], rendition.max_side), min(scaled[1], rendition.max_side)))


def plans(shown: tuple[int, int], spec: Sequence[Rendition]) -> dict[str, Plan]:
    return {r.name: plan(shown, r) for r in spec}


def largest_scale(shown: tuple[int, int], spec: Sequence[Rendition]) -> tuple[int, int]:
    """The largest scaled size the spec needs (what a decode must at least provide)."""
    sizes = [plan(shown, r).scaled for r in spec]
    return max(sizes, key=lambda s: s[0] * s[1]) if sizes else shown
