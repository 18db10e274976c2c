"""Lambda code assets built without Docker: pip installs pinned manylinux wheels for the target platform.

The bundle of a function is: its source folders (e.g. ``tasks/__init__.py`` + ``tasks/resize``), the shared
``imgflow`` package, and the wheels of a requirements file, installed with ``--platform`` /
``--python-version`` / ``--only-binary`` so the result runs on the Lambda runtime, not on this machine.
The asset hash covers exactly those inputs plus the platform, so an unrelated change elsewhere in the repo
does not re-upload code, and a change of pin, platform or source does.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, ILocalBundling
from aws_cdk import aws_lambda as lambda_

REPO = Path(__file__).resolve().parents[1]
SHARED_PACKAGE = "imgflow"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache")


def _files(root: Path) -> Iterable[Path]:
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield path


def source_hash(paths: Sequence[Path], extra: Sequence[str]) -> str:
    """A stable hash of the files under ``paths`` (relative names and contents) and ``extra`` strings."""
    digest = hashlib.sha256()
    for item in extra:
        digest.update(item.encode() + b"\0")
    for root in paths:
        for path in _files(root):
            digest.update(str(path.relative_to(REPO)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@jsii.implements(ILocalBundling)
class LocalPipBundler:
    """Builds the bundle on this machine (CDK then never pulls the Docker image)."""

    def __init__(
        self,
        sources: Sequence[str],
        requirements: str | None,
        platforms: Sequence[str],
        python_version: str,
    ) -> None:
        self.sources = tuple(sources)
        self.requirements = requirements
        self.platforms = tuple(platforms)
        self.python_version = python_version

    def pip_command(self, target: str) -> list[str]:
        assert self.requirements
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        for platform in self.platforms:
            command += ["--platform", platform]
        return [
            *command,
            "--implementation",
            "cp",
            "--python-version",
            self.python_version,
            "--only-binary=:all:",
            "--no-compile",
            "--target",
            target,
            "-r",
            str(REPO / self.requirements),
        ]

    # jsii calls this with two positional arguments; a **kwargs signature is not found.
    def try_bundle(self, output_dir: str, options: object) -> bool:
        out = Path(output_dir)
        if self.requirements:
            subprocess.run(self.pip_command(output_dir), check=True)
        for source in (SHARED_PACKAGE, *self.sources):
            src = REPO / source
            dest = out / source
            if not src.exists():
                continue
            if src.is_dir():
                shutil.copytree(src, dest, ignore=_IGNORE, dirs_exist_ok=True)
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest)
        return True


def python_code(
    sources: Sequence[str],
    *,
    requirements: str | None,
    platforms: Sequence[str],
    python_version: str,
    runtime: lambda_.Runtime,
) -> lambda_.Code:
    """A Lambda code asset: ``sources`` + the ``imgflow`` package + wheels of ``requirements``."""
    inputs = [REPO / s for s in (SHARED_PACKAGE, *sources)]
    if requirements:
        inputs.append(REPO / requirements)
    missing = [str(p.relative_to(REPO)) for p in inputs if not p.exists()]
    # A source that does not exist yet (e.g. api/ while it is being written) still gets a function:
    # the hash covers what exists, and the bundle gains the code once it lands.
    digest = source_hash([p for p in inputs if p.exists()], [python_version, *platforms, *missing])
    bundler = LocalPipBundler(sources, requirements, platforms, python_version)
    return lambda_.Code.from_asset(
        str(REPO / SHARED_PACKAGE),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=digest,
        bundling=BundlingOptions(
            image=runtime.bundling_image,
            local=bundler,  # type: ignore[arg-type]  # jsii passes options positionally
            command=["false"],  # never reached: the local bundler always succeeds or raises
        ),
    )
