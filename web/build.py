"""Build the web page: ``web/src`` -> ``web/dist`` (what ``imgflow serve`` serves and the CDK app uploads).

Plain HTML, CSS and ES modules, no framework and no bundler: the build copies the files and refuses any
reference to another origin in markup, styles or imports, so the page never loads code or styles from a
CDN at run time. The few libraries the page uses come from ``node_modules`` (npm, pinned by
``package-lock.json``) and are copied in beside the sources (``VENDOR``), their license notice first.
``manifest.json`` lists each file with its SHA-256.
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
NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"
#: Libraries the page imports, by their name in ``dist``: the package's self-contained ES module build.
VENDOR = {"dagre.js": Path("@dagrejs/dagre/dist/dagre.esm.js")}
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


def vendored(name: str, node_modules: Path = NODE_MODULES) -> bytes:
    """The library ``VENDOR[name]`` as the page ships it: license notice first, no source-map reference."""
    path = node_modules / VENDOR[name]
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise BuildError(f"{name}: {path} is missing: run `make setup` (npm ci) first") from exc
    legal = path.with_name(path.name + ".LEGAL.txt")
    notice = legal.read_text("utf-8").strip() + "\n" if legal.is_file() else ""
    text = re.sub(r"^/\*! For license information.*\*/\n|^//# sourceMappingURL=.*\n?", "", text, flags=re.M)
    check(Path(name), text)
    return (notice + text).encode()


def _files(src: Path) -> dict[str, bytes]:
    """Name -> content of what ``dist`` holds for ``src`` (the libraries only with the page's own sources)."""
    files = {p.name: p.read_bytes() for p in sorted(src.iterdir()) if p.is_file()}
    if src == SRC:
        for name in VENDOR:
            if name in files:
                raise BuildError(f"{name}: a source file has the name of a vendored library")
            files[name] = vendored(name)
    return files


def build(out: Path = DIST, src: Path = SRC) -> Path:
    """Copy and check every file of ``src`` into ``out`` (replaced atomically enough for a dev server)."""
    manifest: dict[str, str] = {}
    staging = out.with_name(out.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name, data in _files(src).items():
        path = Path(name)
        if path.suffix not in SUFFIXES:
            raise BuildError(f"{path.name}: not a page file ({', '.join(sorted(SUFFIXES))})")
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
    try:
        current = {name: hashlib.sha256(data).hexdigest() for name, data in _files(src).items()}
    except BuildError:
        return False
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
