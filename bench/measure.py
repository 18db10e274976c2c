"""Interleaved timing: round-robin over implementations (order rotated each round), grouped in blocks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: One call, timed inside its own runtime: (wall ms, CPU ms).
Timed = tuple[float, float]


def timed(fn: Callable[[], object]) -> Timed:
    """Wall and process CPU time of one in-process call, in ms."""
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


@dataclass
class Samples:
    """Per implementation, per block, the (wall, cpu) of every call."""

    blocks: dict[str, list[list[Timed]]] = field(default_factory=dict)

    def median(self, name: str, index: int = 0) -> float:
        return statistics.median(t[index] for block in self.blocks[name] for t in block)

    def ratio(self, name: str, reference: str, index: int = 0) -> tuple[float, float, float]:
        """Median over blocks of (block median / reference's block median), with the min and max."""
        ratios = [
            statistics.median(t[index] for t in mine) / statistics.median(t[index] for t in ref)
            for mine, ref in zip(self.blocks[name], self.blocks[reference], strict=True)
        ]
        return statistics.median(ratios), min(ratios), max(ratios)


def interleave(impls: dict[str, Callable[[], Timed]], blocks: int, rounds: int) -> Samples:
    """Run every implementation ``blocks x rounds`` times, alternating call by call."""
    samples = Samples({name: [] for name in impls})
    names = list(impls)
    for block in range(blocks):
        for name in names:
            samples.blocks[name].append([])
        for round_ in range(rounds):
            shift = (block * rounds + round_) % len(names)
            for name in names[shift:] + names[:shift]:
                samples.blocks[name][-1].append(impls[name]())
    return samples
