"""A real ``imgflow serve`` (its own process, port 0) and HTTP clients for it.

One server per test process (session fixture): with ``-n 2 --dist loadfile`` each worker that runs a file of
this folder starts its own. Its own process keeps moto's in-process state and ``os.environ`` away from the
workflow tests' LocalCloud.
"""

from __future__ import annotations

import io
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from imgflow.records import ImageRepository
from imgflow_tools import tokens
from tests.serve import operator_client, serve_env, serving

#: The serve under test accepts files up to this size (small, so the oversize cases stay cheap).
MAX_BYTES = 2 * 1024 * 1024
STARTUP_TIMEOUT = 90
#: The server's token key, made before it starts (schemathesis needs tokens before fixtures run).
LOCAL_KEY = secrets.token_hex(32).encode()


@dataclass
class Stack:
    api: str
    endpoint: str
    key: bytes
    state_dir: Path
    env: dict[str, str]
    #: The operator's key of the serve under test (``imgflow serve --json``'s ``"aws"``).
    aws: dict[str, str]

    def token(self, user: str, **kwargs: Any) -> str:
        return tokens.issue(user, key=self.key, **kwargs)

    def session(self, user: str) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token(user)}"
        return session

    def client(self, service: str) -> Any:
        return operator_client(service, self.endpoint, self.aws)

    def ticket(
        self, session: requests.Session, filename: str, size: int = 10, content_type: str = "image/jpeg"
    ) -> dict[str, Any]:
        """POST /uploads: the upload ticket (``id``, presigned ``upload``) of a new PENDING image."""
        body = {"filename": filename, "content_type": content_type, "size": size}
        response = session.post(f"{self.api}/uploads", json=body, timeout=30)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def repository(self) -> ImageRepository:
        return ImageRepository("imgflow-images", client=self.client("dynamodb"))

    def wait_final(self, session: requests.Session, image_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = session.get(f"{self.api}/images/{image_id}", timeout=10).json()
            if body["status"] in ("PROCESSED", "REJECTED", "FAILED"):
                return dict(body)
            time.sleep(0.1)
        raise TimeoutError(f"{image_id} not final after {timeout}s")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    state = tmp_path_factory.mktemp("imgflow-state")
    (state / tokens.KEY_FILE).write_bytes(LOCAL_KEY)
    env = serve_env(state, MAX_BYTES=str(MAX_BYTES))
    with serving(env, timeout=STARTUP_TIMEOUT) as info:
        yield Stack(info["api"], info["endpoint"], tokens.local_key(state), state, env, info["aws"])


def jpeg_bytes(size: tuple[int, int] = (640, 480)) -> bytes:
    """A gradient JPEG; different bytes on every call (a random comment): the same bytes uploaded twice by
    one owner would be an exact duplicate, reused instead of resized."""
    buf = io.BytesIO()
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    image.save(buf, "JPEG", quality=85, comment=os.urandom(8).hex())
    return buf.getvalue()
