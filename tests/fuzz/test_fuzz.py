"""A fixed-seed fuzz run of validate and extract_meta in the suite (long runs: ``python -m tests.fuzz``)."""

from __future__ import annotations

import random

import pytest

from imgflow.config import Limits
from tests.conftest import CORPUS
from tests.fuzz import engine

CASES = 2500
SEED = 20261201


@pytest.mark.slow
def test_every_mutated_image_gets_a_verdict() -> None:
    report = engine.run(cases=CASES, seed=SEED, corpus=CORPUS, service_every=25)
    print(report.summary())
    assert report.cases == CASES
    assert not report.findings, report.summary()
    # The run reaches past the header checks: successes and several distinct rejections.
    assert report.verdicts["validate:ok"] > CASES // 20
    assert len([v for v in report.verdicts if v.startswith("validate:")]) >= 4
    assert report.service_cases >= CASES // 30  # every 25th case that is not empty


def test_mutators_are_deterministic_and_change_the_input() -> None:
    seeds = engine.generated_seeds()
    for name in engine.MUTATORS:
        data = seeds["baseline.jpg"]
        first = engine.MUTATORS[name](data, random.Random(1), seeds)
        assert first == engine.MUTATORS[name](data, random.Random(1), seeds), name
    changed = sum(
        engine.mutate(data, random.Random(i), seeds)[0] != data for i, data in enumerate(seeds.values())
    )
    assert changed >= len(seeds) - 1


def test_every_seed_format_is_accepted_unmutated() -> None:
    from tasks.validate.checks import validate_image

    formats = {validate_image(data, Limits()).format for data in engine.generated_seeds().values()}
    assert formats == {"JPEG", "PNG", "GIF", "WEBP", "AVIF", "HEIF"}


def test_the_harness_reports_unhandled_exceptions_and_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fuzzer can fail: an exception that is not a named rejection, or a slow task, is a finding."""

    def broken(data: bytes, limits: Limits) -> None:
        if data.startswith(b"\x89PNG"):
            raise KeyError("boom")
        if data.startswith(b"GIF"):
            import time

            time.sleep(2)

    monkeypatch.setattr(engine, "validate_image", broken)
    report = engine.run(cases=60, seed=1, corpus=None, budget_s=0.5, service_every=0)
    problems = {f.problem.split(":")[0] for f in report.findings if f.task == "validate"}
    assert "KeyError" in problems and "over the budget of 0.5 s" in problems


def test_budgets_follow_the_lambda_timeouts() -> None:
    budgets = engine.task_budgets()
    assert budgets["validate"] == 15 and budgets["extract_meta"] == 7.5


def test_extract_results_must_be_json() -> None:
    verdict, problem, _ = engine._verdict("extract_meta", lambda: {"x": float("nan")}, 1.0)
    assert verdict == "extract_meta:NOT_JSON" and problem
    verdict, problem, _ = engine._verdict("extract_meta", lambda: {"x": "y" * 100_000}, 1.0)
    assert verdict == "extract_meta:TOO_BIG" and problem


def test_corrupt_avif_pixels_are_a_rejection() -> None:
    """Found by the fuzzer: libavif's decode failure surfaced as an unhandled RuntimeError (a FAILED run)."""
    from imgflow.errors import CorruptImage
    from tasks.validate.checks import validate_image

    data = engine.generated_seeds()["photo.avif"]
    with pytest.raises(CorruptImage):
        validate_image(data[:-16] + b"\0" * 16, Limits())
