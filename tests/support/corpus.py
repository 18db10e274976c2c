"""The expected verdicts of the corpus beside the repo, read from its MANIFEST.md files."""

from __future__ import annotations

import re

from tests.support.paths import CORPUS

#: Files the MANIFEST rejects "unless the format is on the allow-list": HEIC and AVIF are, by default.
ALLOWED_BY_DEFAULT = frozenset({"pillow/avif/exif.avif", "pillow/avif/hopper.heif"})


def hostile_expectations() -> dict[str, str]:
    """hostile/MANIFEST.md: file -> "accept" | "reject" (for the default allow-list)."""
    path = CORPUS / "hostile" / "MANIFEST.md"
    if not path.is_file():
        return {}
    rows = re.findall(r"^\| \d+ \| `([^`]+)` \|.*?\| \*\*(accept|reject)\*\* \|", path.read_text(), re.M)
    return {name: "accept" if name in ALLOWED_BY_DEFAULT else verdict for name, verdict in rows}


def pngsuite_expectations() -> dict[str, str]:
    """pngsuite/MANIFEST.md: file -> "valid" | "corrupt"."""
    path = CORPUS / "pngsuite" / "MANIFEST.md"
    if not path.is_file():
        return {}
    return dict(
        re.findall(r"^\| `([^`]+\.png)` \| \d+ \| \*\*(valid|corrupt)\*\* \|", path.read_text(), re.M)
    )


def exif_camera_files(folder: str) -> list[str]:
    root = CORPUS / "exif-camera"
    return sorted(str(p.relative_to(root)) for p in (root / folder).rglob("*") if p.is_file()) or ["-"]
