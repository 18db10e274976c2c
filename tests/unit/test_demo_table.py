"""The demo's table says what its numbers are, and the README names its columns."""

from __future__ import annotations

import re
from typing import Any

from imgflow_tools.demo import TABLE_COLUMNS, format_table, shared_encodings, table_notes
from tests.conftest import REPO


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
    match = re.search(r"The table's columns are `([^`]+)`", readme)
    assert match, "the README names the demo table's columns"
    assert tuple(c.strip() for c in match.group(1).split(",")) == TABLE_COLUMNS


def test_the_two_commands_are_two() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    assert [line.split()[1] for line in block.strip().splitlines()] == ["demo", "test"]
