"""A served stack (``imgflow serve`` in its own process) seen from the tests: HTTP sessions, tokens, uploads.

The integration suite's ``stack`` fixture is ``serving_stack(state)``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from imgflow.records import ImageRepository
from imgflow_tools import tokens
from tests.support.serve import operator_client, serve_env, serving
from tests.support.waiting import wait_image

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
        return wait_image(session, f"{self.api}/images/{image_id}", timeout=timeout)


@contextmanager
def serving_stack(state: Path) -> Iterator[Stack]:
    """``imgflow serve`` with its state in ``state``: files up to ``MAX_BYTES``, tokens by ``LOCAL_KEY``."""
    (state / tokens.KEY_FILE).write_bytes(LOCAL_KEY)
    env = serve_env(state, MAX_BYTES=str(MAX_BYTES))
    with serving(env, timeout=STARTUP_TIMEOUT) as info:
        yield Stack(info["api"], info["endpoint"], tokens.local_key(state), state, env, info["aws"])


def new_upload(session: requests.Session, api: str, **overrides: Any) -> dict[str, Any]:
    """POST /uploads for a 1000-byte ``photo.jpg`` (``overrides``: other fields of the body): its ticket."""
    body = {"filename": "photo.jpg", "content_type": "image/jpeg", "size": 1000, **overrides}
    response = session.post(f"{api}/uploads", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return dict(response.json())


def post_file(
    ticket: dict[str, Any], data: bytes, *, fields: dict[str, str] | None = None
) -> requests.Response:
    """POST ``data`` to a ticket's presigned form (``fields``: other form fields than the ticket's)."""
    form = fields if fields is not None else ticket["upload"]["fields"]
    return requests.post(
        ticket["upload"]["url"], data=form, files={"file": ("photo.jpg", data, "image/jpeg")}, timeout=30
    )
