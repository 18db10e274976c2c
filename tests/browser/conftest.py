"""A real ``imgflow serve`` (its own process, port 0) and Debian's Chromium driven by Playwright.

Chromium is Debian's ``chromium`` package (``make browser`` installs it; never Playwright's own browser
download). Screenshots go to ``test-artifacts/browser/`` (gitignored), kept after the run.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.browser.support import ARTIFACTS, REPO, Serve
from tests.support.serve import serve_env, serving

CHROMIUM = os.environ.get("IMGFLOW_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
#: What Chromium needs on a closed network, headless, as root (see the machine notes).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MAX_BYTES = 2 * 1024 * 1024
STARTUP_TIMEOUT = 180
#: The default sizes, each also encoded as WebP: the page must get WebP (Chromium shows it), not JPEG.
RENDITIONS = [
    {"name": n, "max_side": s, "alternates": ["WEBP"]}
    for n, s in (("thumb", 256), ("medium", 1024), ("large", 2048))
]


@pytest.fixture(scope="session")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    state = tmp_path_factory.mktemp("imgflow-web")
    env = serve_env(state, MAX_BYTES=str(MAX_BYTES), RENDITIONS=json.dumps(RENDITIONS))
    with serving(env, timeout=STARTUP_TIMEOUT, cwd=REPO) as info:
        yield Serve(info["web"], info["api"], info["token"], state)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make browser` installs Debian's chromium package")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
