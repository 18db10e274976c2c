"""The demo's table says what its numbers are, and the README names its columns."""

from __future__ import annotations

import re
from typing import Any

from imgflow_tools.demo import ROW_DETAILS, TABLE_COLUMNS, WIDTH, format_table, shared_encodings, table_notes
from tests.support.paths import REPO


def _row(name: str, renditions: list[tuple[str, int, str]]) -> dict[str, Any]:
    return {
        "file": f"/x/{name}",
        "image_id": name,
        "status": "PROCESSED",
        "reason": None,
        "error": None,
        "width": 800,
        "height": 600,
        "renditions": [
            {"name": n, "width": w, "height": w * 3 // 4, "format": "JPEG", "bytes": 1, "key": k}
            for n, w, k in [(n, w, f"o/{name}/{k}") for n, w, k in renditions]
        ],
        "exif": None,
        "duration_s": 1.5,
    }


def test_shared_encodings_are_named_and_explained() -> None:
    small = _row(
        "small.jpg",
        [("thumb", 256, "thumb.jpg"), ("medium", 800, "medium.jpg"), ("large", 800, "medium.jpg")],
    )
    big = _row(
        "big.jpg", [("thumb", 256, "thumb.jpg"), ("medium", 1024, "medium.jpg"), ("large", 2048, "large.jpg")]
    )
    assert shared_encodings(small) == [["medium", "large"]] and shared_encodings(big) == []

    table = format_table([small, big]).splitlines()
    assert tuple(table[0].split("  ")[0:1]) == ("file",) and "run s" in table[0]
    assert "256x192 800x600" in table[1]  # the distinct sizes, once each
    notes = " ".join(table_notes([small, big]))
    assert "queued behind the other 1 files" in notes
    assert "small.jpg: medium and large are one object in S3, one file in --out" in notes


def test_the_readme_names_the_tables_columns() -> None:
    readme = " ".join((REPO / "README.md").read_text().split())
    match = re.search(r"The table's columns are `([^`]+)`.*? its details `([^`]+)`", readme)
    assert match, "the README names the demo table's columns and a row's details"
    assert tuple(c.strip() for c in match.group(1).split(",")) == TABLE_COLUMNS
    assert tuple(c.strip() for c in match.group(2).split(",")) == ROW_DETAILS


def test_the_table_fits_its_width_with_long_names_exif_and_reasons() -> None:
    row = _row("a-very-long-file-name-from-a-camera-roll-" * 3 + ".jpg", [("thumb", 256, "t.jpg")])
    row["exif"] = {
        "make": "Canon",
        "model": "Canon EOS R6 Mark II with a very long model name",
        "taken_at": "2024-06-01T12:34:56+02:00",
        "gps": {"lat": -33.856784, "lon": 151.215297},
    }
    rejected = {**_row("truncated.jpg", []), "status": "REJECTED", "reason": "truncated", "width": None}
    rejected["error"] = {"type": "ImageRejected", "message": "the file is cut short: " + "x " * 150}
    lines = format_table([row, rejected]).splitlines()
    assert max(len(line) for line in lines) <= WIDTH
    assert lines[1].startswith("a-very-long") and lines[1].split()[0].endswith(".jpg")  # shortened in between
    assert lines[2].strip().startswith("camera: Canon") and "GPS: -33.85678,151.21530" in "".join(lines)
    reason = [line for line in lines if line.strip().startswith("reason: truncated: the file is cut short")]
    assert reason and lines.index(reason[0]) > lines.index(
        next(x for x in lines if x.startswith("truncated"))
    )


def test_the_two_commands_are_two() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    assert [line.split()[1] for line in block.strip().splitlines()] == ["demo", "test"]
