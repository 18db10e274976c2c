"""sharp (libvips) as the reference: a long-lived node worker fed over stdin/stdout, set up on demand.

Its dependencies live in bench/node_modules only (``npm ci`` from bench/package-lock.json), never at runtime.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
WORKER = BENCH / "sharp_worker.mjs"


def setup() -> str | None:
    """Install sharp into bench/node_modules if needed; the reason when sharp cannot run here."""
    if not shutil.which("node") or not shutil.which("npm"):
        return "node/npm not found"
    if not (BENCH / "node_modules" / "sharp" / "package.json").exists():
        print("bench: npm ci (sharp, bench-only)", file=sys.stderr)
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=BENCH, check=False
        )
        if done.returncode:
            return f"npm ci failed in {BENCH}"
    return None


class SharpWorker:
    """``with SharpWorker() as sharp: sharp.run("A", path)``; timings come from inside node."""

    def __init__(self) -> None:
        env = {**os.environ, "VIPS_CONCURRENCY": "1"}
        self._proc = subprocess.Popen(
            ["node", str(WORKER)],
            cwd=BENCH,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.versions: dict[str, str] = {}

    def run(self, task: str, path: Path, out: Path | None = None) -> dict[str, Any]:
        """One call: {"wall_ms", "cpu_ms", "outputs": [paths written when ``out`` is given]}."""
        assert self._proc.stdin and self._proc.stdout
        request = {"task": task, "input": str(path), "out": str(out) if out else None}
        self._proc.stdin.write(json.dumps(request) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("sharp worker exited")
        reply: dict[str, Any] = json.loads(line)
        self.versions = reply.pop("versions", self.versions)
        return reply

    def __enter__(self) -> SharpWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait(timeout=10)
