"""A fixed-seed fuzz run of validate, extract_meta and resize in the suite (more: `python -m tests.fuzz`)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from imgflow.config import Limits, Rendition
from tests.fuzz import engine
from tests.support.paths import CORPUS

CASES = 2500
SEED = 20261201


@pytest.mark.slow
def test_every_mutated_image_gets_a_verdict(tmp_path: Path) -> None:
    """The fixed-seed run, in its own process: its moto mock must not reset a LocalCloud of this worker."""
    report_file = tmp_path / "report.json"
    command = [sys.executable, "-W", "ignore", "-m", "tests.fuzz", "--cases", str(CASES), "--seed", str(SEED)]
    command += ["--corpus", str(CORPUS), "--out", str(tmp_path / "findings"), "--report", str(report_file)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert report_file.exists(), done.stderr[-3000:]
    report = json.loads(report_file.read_text())
    print(report["summary"])
    assert report["cases"] == CASES
    assert not report["findings"], report["summary"]
    assert done.returncode == 0, done.stdout[-2000:]
    # The run reaches past the header checks: successes and several distinct rejections.
    verdicts = report["verdicts"]
    assert verdicts["validate:ok"] > CASES // 20
    assert len([v for v in verdicts if v.startswith("validate:")]) >= 4
    assert report["service_cases"] >= CASES // 30  # every 25th case that is not empty
    assert verdicts["resize:ok"] > CASES // 50  # what validate accepted, rendered (half of it at 3/8)


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
    report = engine.run(cases=60, seed=1, corpus=None, budget_s=0.5, service_every=0, render_every=0)
    problems = {f.problem.split(":")[0] for f in report.findings if f.task == "validate"}
    assert "KeyError" in problems and "over the budget of 0.5 s" in problems


def test_resize_runs_on_what_validate_accepted_and_its_errors_are_findings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sizes: list[int] = []

    def broken(data: bytes, spec: tuple[Rendition, ...], limits: Limits) -> None:
        sizes.append(spec[-1].max_side)
        raise KeyError("boom")

    monkeypatch.setattr(engine, "render", broken)
    report = engine.run(cases=40, seed=1, corpus=None, service_every=0, render_every=1)
    resized = [f for f in report.findings if f.task == "resize"]
    assert resized and all(f.problem.startswith("KeyError") for f in resized)
    assert len(resized) == report.verdicts["validate:ok"]  # each accepted case, and only those
    assert len(set(sizes)) > 2  # the default spec's 2048 and 3/8 sizes of several images


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


@pytest.mark.parametrize(
    "data", [b"x", b"Exif\x00\x00", b"\x89PNG", b"\xff\xd8", b"GIF89a", b"RIFF", b"II*\x00", b"MM\x00*"]
)
def test_mutators_take_any_non_empty_input(data: bytes) -> None:
    seeds = engine.generated_seeds()
    rng = random.Random(0)
    for mutator in engine.MUTATORS.values():
        for _ in range(20):
            assert isinstance(mutator(data, rng, seeds), bytes)
