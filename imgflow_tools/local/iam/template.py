"""The CloudFormation template ``cdk synth`` produces, synthesized offline and cached by what it depends on.

Synthesis runs in a child process (``python -m infra.synth``'s own code path: ``build_app``), bundling skipped
(context ``aws:cdk:bundling-stacks: []``, as tests/infrastructure does) and cdk-nag off: the roles,
policies and environments are the same. The result is kept in ``$XDG_CACHE_HOME/imgflow/templates``
(``~/.cache/...``) under a hash of ``infra/``, the runtime modules the CDK app reads (``imgflow/config.py``,
``imgflow/workflow/``, ``statemachine/``), ``cdk.json`` and the context, so ``imgflow serve`` synthesizes
once per change (5-40 s on a loaded machine), then reads a file.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
#: What the synthesized template depends on (besides the installed aws-cdk-lib, whose version is hashed).
INPUTS = ("infra", "imgflow/config.py", "imgflow/workflow", "statemachine", "cdk.json")
SKIP_BUNDLING: dict[str, Any] = {"aws:cdk:bundling-stacks": []}
CACHE_DIR = "templates"

_SYNTH = """
import json, os, sys, tempfile
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
from infra.app import build_app
context = json.loads(sys.argv[1])
with tempfile.TemporaryDirectory() as outdir:
    app, stack = build_app(context, outdir, with_nag=False)
    artifact = app.synth().get_stack_artifact(stack.artifact_id)
    json.dump(artifact.template, sys.stdout)
"""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "imgflow" / CACHE_DIR


class SynthFailed(RuntimeError):
    """``cdk synth`` of infra/ failed (its stderr is the message)."""


def _files(root: Path) -> list[Path]:
    files: list[Path] = []
    for name in INPUTS:
        path = root / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(p for p in sorted(path.rglob("*")) if p.is_file() and "__pycache__" not in p.parts)
    return files


def fingerprint(context: dict[str, Any], root: Path = REPO) -> str:
    """The cache key: every input file's path and bytes, the context and aws-cdk-lib's version."""
    digest = hashlib.sha256()
    try:
        from importlib.metadata import version

        digest.update(version("aws-cdk-lib").encode())
    except Exception:  # not installed: synth fails below with its own message
        digest.update(b"-")
    digest.update(json.dumps(context, sort_keys=True).encode())
    for path in _files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def synthesize(context: dict[str, Any] | None = None, *, root: Path = REPO) -> dict[str, Any]:
    """The stack's template (cached in ``cache_dir()/<hash>.json``).

    Concurrent first starts (``pytest -n 2``, a serve beside the suite) wait on one lock file: one of them
    synthesizes, the others read its result.
    """
    context = {**SKIP_BUNDLING, **(context or {})}
    cache = cache_dir() / f"{fingerprint(context, root)}.json"
    if (cached := _read(cache)) is not None:
        return cached
    cache.parent.mkdir(parents=True, exist_ok=True)
    with cache.with_suffix(".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (cached := _read(cache)) is not None:  # synthesized while this process waited
            return cached
        template = _synth(context, root)
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}")
        tmp.write_text(json.dumps(template))
        tmp.replace(cache)
    return template


def _read(cache: Path) -> dict[str, Any] | None:
    if not cache.is_file():
        return None
    try:
        return dict(json.loads(cache.read_text()))
    except ValueError:
        return None  # a torn write: synthesize again


def _synth(context: dict[str, Any], root: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", _SYNTH, json.dumps(context)],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
        check=False,
    )
    if result.returncode != 0:
        raise SynthFailed(f"cdk synth of {root / 'infra'} failed:\n{result.stderr[-4000:]}")
    return dict(json.loads(result.stdout))
