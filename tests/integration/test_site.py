"""The web page on imgflow serve's root: public files with a CSP, config.json, the API unchanged beside it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from tests.support.served import MAX_BYTES, Stack
from web import build


def test_root_serves_the_built_page_with_security_headers(stack: Stack) -> None:
    page = requests.get(f"{stack.api}/", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert page.content == (build.DIST / "index.html").read_bytes()
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and f"connect-src 'self' {stack.endpoint}" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    script = requests.get(f"{stack.api}/app.js", timeout=10)
    assert script.headers["Content-Type"].startswith("text/javascript")
    again = requests.get(f"{stack.api}/app.js", headers={"If-None-Match": script.headers["ETag"]}, timeout=10)
    assert again.status_code == 304


def test_config_json_tells_the_page_the_limits(stack: Stack) -> None:
    config = requests.get(f"{stack.api}/config.json", timeout=10).json()
    assert config["auth"] == {"type": "local"} and config["api"] == ""
    assert config["max_bytes"] == MAX_BYTES
    assert "image/jpeg" in config["content_types"]


def test_only_page_files_are_public(stack: Stack) -> None:
    for path in ("/manifest.json", "/images", "/../pyproject.toml", "/.env"):
        assert requests.get(f"{stack.api}{path}", timeout=10).status_code in (401, 404), path
    assert requests.post(f"{stack.api}/", timeout=10).status_code == 401  # not a page request: the API's


def test_parallel_requests_of_two_users_never_mix(stack: Stack) -> None:
    """A page fires requests in parallel: each must be answered as its own caller (one event at a time)."""
    users = {name: stack.session(name) for name in ("para-ann", "para-ben")}
    mine = {name: stack.ticket(session, f"{name}.jpg")["id"] for name, session in users.items()}

    def listed(name: str) -> tuple[str, set[str]]:
        return name, {i["id"] for i in users[name].get(f"{stack.api}/images", timeout=30).json()["items"]}

    with ThreadPoolExecutor(8) as pool:
        for name, ids in pool.map(listed, ["para-ann", "para-ben"] * 20):
            assert ids == {mine[name]}, name
