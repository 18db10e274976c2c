"""S: near duplicates and placeholders: recall and false positives of the perceptual hash on a generated set,
the distance threshold they support, and the cost per image of both features.

Every file goes through resize's own path (``render_with_preview``: the smallest rendition's pixels), then
the pHash (``imgflow.image.phash``) and the placeholder (``imgflow.image.placeholder``). Pairs within a group
(a photo and its variants: ``imgflow_tools.similar_set``) should be found; pairs across groups should not.
"""

from __future__ import annotations

import hashlib
import itertools
import statistics
import time
from typing import Any

from imgflow import similarity
from imgflow.config import DEFAULT_RENDITIONS, Limits
from imgflow.image.phash import phash
from imgflow.image.placeholder import placeholder
from imgflow_tools.similar_set import Item, near_duplicate_set
from tasks.resize.renditions import render_with_preview

Fields = dict[str, float | int]


def hashes(items: list[Item]) -> tuple[list[str], dict[str, list[float]]]:
    """The pHash of every item, and the CPU milliseconds of each feature per item."""
    out = []
    cost: dict[str, list[float]] = {"phash_ms": [], "placeholder_ms": [], "sha256_ms": [], "render_ms": []}
    for item in items:
        start = time.process_time()
        _, preview = render_with_preview(item.data, DEFAULT_RENDITIONS, Limits())
        cost["render_ms"].append((time.process_time() - start) * 1000)
        assert preview is not None
        start = time.process_time()
        out.append(phash(preview))
        cost["phash_ms"].append((time.process_time() - start) * 1000)
        start = time.process_time()
        placeholder(preview)
        cost["placeholder_ms"].append((time.process_time() - start) * 1000)
        start = time.process_time()
        hashlib.sha256(item.data).hexdigest()
        cost["sha256_ms"].append((time.process_time() - start) * 1000)
    return out, cost


def pair_distances(items: list[Item], values: list[str]) -> tuple[list[int], list[int]]:
    """Distances of the near pairs (same group) and of the unrelated pairs."""
    near: list[int] = []
    unrelated: list[int] = []
    for i, j in itertools.combinations(range(len(items)), 2):
        d = similarity.distance(values[i], values[j])
        (near if items[i].group == items[j].group else unrelated).append(d)
    return near, unrelated


def sweep(near: list[int], unrelated: list[int], up_to: int = 20) -> list[dict[str, float]]:
    return [
        {
            "threshold": t,
            "recall": sum(d <= t for d in near) / len(near),
            "false_positive_rate": sum(d <= t for d in unrelated) / len(unrelated),
        }
        for t in range(up_to + 1)
    ]


def index_recall(
    items: list[Item], values: list[str], threshold: int, counts: tuple[int, ...]
) -> list[dict[str, float]]:
    """For each number of bands: the share of near pairs the index finds (within ``threshold`` and sharing a
    band) and the share of unrelated pairs it reads as candidates (the query's cost)."""
    out = []
    for count in counts:
        bands = [set(similarity.bands(v, count)) for v in values]
        found = near = read = unrelated = 0
        for i, j in itertools.combinations(range(len(items)), 2):
            shared = bool(bands[i] & bands[j])
            if items[i].group == items[j].group:
                near += 1
                found += shared and similarity.distance(values[i], values[j]) <= threshold
            else:
                unrelated += 1
                read += shared
        out.append({"bands": count, "recall": found / near, "candidate_rate": read / unrelated})
    return out


def task_s(quick: bool) -> tuple[Fields, dict[str, Any]]:
    items = near_duplicate_set(generated=12 if quick else 40)
    values, cost = hashes(items)
    near, unrelated = pair_distances(items, values)
    table = sweep(near, unrelated)
    chosen = table[similarity.THRESHOLD]
    index = index_recall(items, values, similarity.THRESHOLD, (4, 6, 8, 10, 13))
    worst_variant: dict[str, int] = {}
    for i, j in itertools.combinations(range(len(items)), 2):
        if items[i].group == items[j].group and "original" in (items[i].variant, items[j].variant):
            other = items[j].variant if items[i].variant == "original" else items[i].variant
            d = similarity.distance(values[i], values[j])
            worst_variant[other] = max(worst_variant.get(other, 0), d)
    found_by_index = next(r for r in index if r["bands"] == similarity.BANDS)
    fields: Fields = {
        "threshold": similarity.THRESHOLD,
        "bands": similarity.BANDS,
        "recall": found_by_index["recall"],
        "recall_by_distance": chosen["recall"],
        "false_positive_rate": chosen["false_positive_rate"],
        "images": len(items),
        "groups": len({i.group for i in items}),
        "candidate_rate": found_by_index["candidate_rate"],
        "phash_ms": statistics.median(cost["phash_ms"]),
        "placeholder_ms": statistics.median(cost["placeholder_ms"]),
        "sha256_ms": statistics.median(cost["sha256_ms"]),
        "render_ms": statistics.median(cost["render_ms"]),
    }
    detail = {
        "sweep": table,
        "index": index,
        "hashes": {f"{i.group}/{i.variant}": v for i, v in zip(items, values, strict=True)},
        "near_pairs": len(near),
        "unrelated_pairs": len(unrelated),
        "unrelated_min_distance": min(unrelated),
        "worst_distance_to_original": worst_variant,
        "cost_ms_median": {k: statistics.median(v) for k, v in cost.items()},
    }
    return fields, detail
