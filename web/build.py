"""Build the web page: ``web/src`` -> ``web/dist`` (what ``imgflow serve`` serves and the CDK app uploads).

Plain HTML, CSS and ES modules, no framework and no bundler: the build copies the files and refuses any
reference to another origin in markup, styles or imports, so the page never loads code or styles from a
CDN at run time. ``manifest.json`` lists each file with its SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent / "src"
DIST = Path(__file__).resolve().parent / "dist"
SUFFIXES = frozenset({".html", ".js", ".css", ".svg"})
#: A load from another origin: <script src>, <link href> (stylesheet/icon), CSS url()/@import, JS import.
_REMOTE = re.compile(
    r"""(?:<script[^>]+src|<link[^>]+href)\s*=\s*["'](?:https?:)?//"""
    r"""|url\(\s*["']?(?:https?:)?//|@import\s+["'](?:https?:)?//"""
    r"""|\bimport\b[^;'"]*["'](?:https?:)?//""",
    re.IGNORECASE,
)


class BuildError(Exception):
    """A source file the page must not ship (remote reference, unknown type)."""


def check(path: Path, text: str) -> None:
    if match := _REMOTE.search(text):
        raise BuildError(f"{path.name}: loads from another origin ({match.group(0)!r}): vendor it instead")


def build(out: Path = DIST, src: Path = SRC) -> Path:
    """Copy and check every file of ``src`` into ``out`` (replaced atomically enough for a dev server)."""
    files = sorted(p for p in src.iterdir() if p.is_file())
    manifest: dict[str, str] = {}
    staging = out.with_name(out.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for path in files:
        if path.suffix not in SUFFIXES:
            raise BuildError(f"{path.name}: not a page file ({', '.join(sorted(SUFFIXES))})")
        data = path.read_bytes()
        check(path, data.decode("utf-8"))
        (staging / path.name).write_bytes(data)
        manifest[path.name] = hashlib.sha256(data).hexdigest()
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    return out


def is_current(out: Path = DIST, src: Path = SRC) -> bool:
    """Whether ``out`` holds exactly the current sources."""
    try:
        manifest = json.loads((out / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    current = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in src.iterdir() if p.is_file()}
    return bool(manifest == current)


def main() -> int:
    try:
        out = build()
    except BuildError as exc:
        print(f"web build: {exc}", file=sys.stderr)
        return 1
    print(f"web build: {len(list(out.iterdir())) - 1} files in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
