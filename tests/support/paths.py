"""Where things are: the repo root, and the corpus beside it (``IMGFLOW_CORPUS`` overrides)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("IMGFLOW_CORPUS", REPO.parent / "shared" / "corpus"))
