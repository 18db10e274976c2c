"""Origins the user allows (``IMGFLOW_ALLOWED_ORIGINS`` / ``--allow-origin``) may drive both listeners, as
the page's own origin does; every other origin is still refused. Its own ``imgflow serve``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from imgflow_tools import tokens
from tests.support.images import jpeg_bytes
from tests.support.raw_http import post_upload, send
from tests.support.serve import serve_env, serving
from tests.support.served import STARTUP_TIMEOUT

APP = "http://app.test:5173"
BUCKET = "imgflow-uploads"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    state = tmp_path_factory.mktemp("imgflow-origins")
    env = serve_env(state, ALLOWED_ORIGINS=f"{APP}, https://other.test")
    with serving(env, timeout=STARTUP_TIMEOUT) as info:
        yield {**info, "key": tokens.local_key(state)}


def test_serve_lists_the_origins_it_answers(served: dict[str, Any]) -> None:
    api_port = served["api"].rsplit(":", 1)[1]
    assert set(served["origins"]) == {
        APP,
        "https://other.test",
        f"http://127.0.0.1:{api_port}",
        f"http://localhost:{api_port}",
        f"http://[::1]:{api_port}",
    }


def test_an_allowed_origin_uploads_through_both_listeners(served: dict[str, Any]) -> None:
    auth = {"Authorization": f"Bearer {tokens.issue('app-user', key=served['key'])}"}
    preflight = send(
        served["api"], "OPTIONS", "/uploads", headers={"Origin": APP, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status == 204 and preflight.headers["access-control-allow-origin"] == APP
    body = b'{"filename": "a.jpg", "content_type": "image/jpeg", "size": 1000}'
    headers = {"Origin": APP, "Content-Type": "application/json", "Sec-Fetch-Site": "cross-site", **auth}
    ticket = send(served["api"], "POST", "/uploads", body=body, headers=headers)
    assert ticket.status == 201 and ticket.headers["access-control-allow-origin"] == APP
    fields = ticket.json()["upload"]["fields"]
    upload = post_upload(
        served["endpoint"], BUCKET, fields, jpeg_bytes((24, 24)), origin=APP, site="cross-site"
    )
    assert upload.status == 204, upload.text
    assert upload.headers["access-control-allow-origin"] == APP
    # Another origin still gets nothing, on either listener.
    for url, target in ((served["api"], "/uploads"), (served["endpoint"], f"/{BUCKET}")):
        refused = send(url, "POST", target, body=body, headers={**headers, "Origin": "http://app.test:5174"})
        assert refused.status == 403 and "access-control-allow-origin" not in refused.headers
