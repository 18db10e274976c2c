"""`imgflow demo`, run as a user runs it: a separate process, the real CLI, the whole path."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from imgflow_tools.samples import SAMPLES, write_samples
from tests.support.corpus import hostile_expectations


def _demo(*args: str) -> tuple[int, list[dict], str]:
    done = subprocess.run(
        [sys.executable, "-m", "imgflow_tools.cli", "demo", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return done.returncode, rows, done.stderr


def test_the_demo_sends_the_sample_set_through_the_workflow(tmp_path: Path) -> None:
    code, rows, stderr = _demo("--json", "--out", str(tmp_path))

    assert code == 0, stderr
    by_file = {Path(r["file"]).name: r for r in rows}
    assert set(by_file) == {s.filename for s in SAMPLES}
    for sample in SAMPLES:
        row = by_file[sample.filename]
        status, _, reason = sample.expected.partition(":")
        assert (row["status"], row["reason"] or "") == (status, reason), sample.filename
        assert row["execution_arn"].startswith("arn:aws:states:")
        assert row["duration_s"] > 0

    landscape = by_file["landscape_gps.jpg"]
    assert (landscape["width"], landscape["height"], landscape["format"]) == (1600, 1200, "JPEG")
    exif = landscape["exif"]
    assert (exif["make"], exif["model"], exif["iso"], exif["orientation"]) == (
        "imgflow",
        "Sample Camera S1",
        200,
        1,
    )
    assert exif["taken_at"] == "2024-06-01T12:34:56+02:00"
    assert abs(exif["gps"]["lat"] - 48.858370) < 1e-5 and abs(exif["gps"]["lon"] - 2.294481) < 1e-5
    assert abs(exif["f_number"] - 2.8) < 1e-9 and abs(exif["exposure_time"] - 1 / 250) < 1e-9

    portrait = by_file["portrait_rotated.jpg"]
    assert (portrait["width"], portrait["height"]) == (900, 1200)  # displayed after Orientation 6
    assert portrait["exif"]["gps"]["lat"] < 0 and portrait["exif"]["gps"]["lon"] < 0
    assert all(r["height"] > r["width"] for r in portrait["renditions"])

    written = [p for p in (tmp_path / "renditions").rglob("*") if p.is_file()]
    assert len(written) == len({r["key"] for row in rows for r in row["renditions"]}) > 0
    assert len(list((tmp_path / "records").glob("*.json"))) == len(SAMPLES)


def test_the_demo_refuses_a_missing_folder(tmp_path: Path) -> None:
    code, rows, stderr = _demo(str(tmp_path / "nope"))
    assert code == 2 and rows == [] and stderr.count("\n") == 1 and "is no file or folder" in stderr


def test_the_demo_gives_every_hostile_file_its_verdict_and_one_record(corpus: Path) -> None:
    expected = hostile_expectations()
    code, rows, stderr = _demo(str(corpus / "hostile"), "--json")

    assert code == 0, stderr
    got = {Path(r["file"]).relative_to(corpus / "hostile").as_posix(): r for r in rows}
    assert set(got) == set(expected)
    wrong = {
        name: (verdict, got[name]["status"], got[name]["reason"])
        for name, verdict in expected.items()
        if got[name]["status"] != {"accept": "PROCESSED", "reject": "REJECTED"}[verdict]
    }
    assert wrong == {}
    assert all(r["reason"] for r in rows if r["status"] == "REJECTED")
    assert len({r["image_id"] for r in rows}) == len(rows)


def test_the_demo_takes_files_and_folders(tmp_path: Path) -> None:
    samples = {p.name: p for p in write_samples(tmp_path / "samples")}
    folder = tmp_path / "folder"
    folder.mkdir()
    shutil.copy(samples["logo_alpha.png"], folder / "logo_alpha.png")
    code, rows, stderr = _demo(str(samples["landscape_gps.jpg"]), str(folder), "--json")
    assert code == 0, stderr
    assert sorted(Path(r["file"]).name for r in rows) == ["landscape_gps.jpg", "logo_alpha.png"]


def test_the_demo_table_fits_100_columns() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "imgflow_tools.cli", "demo"], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("file ") and "reason: " in done.stdout and "camera: " in done.stdout
    lines = (done.stdout + done.stderr).splitlines()
    assert max(len(line) for line in lines) <= 100, max(lines, key=len)
