"""The API answers a throttled or failing DynamoDB/S3 with 503 and Retry-After, never a bare 500."""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.test import Client

from imgflow import aws, config
from imgflow_tools import samples, tokens
from imgflow_tools.local.cloud import LocalCloud
from imgflow_tools.local.server import ApiGateway
from tests.support.faults import Inject, client_error


@pytest.mark.parametrize(
    ("code", "status"), [("ProvisionedThroughputExceededException", 400), ("InternalServerError", 500)]
)
def test_a_busy_table_is_a_503_the_client_may_retry(
    cloud: LocalCloud, aws_faults: Inject, monkeypatch: pytest.MonkeyPatch, code: str, status: int
) -> None:
    monkeypatch.setenv("IMGFLOW_CURSOR_KEY", secrets.token_hex(32))
    config.settings.cache_clear()
    key = secrets.token_bytes(32)
    api = Client(ApiGateway(key))
    headers = {"Authorization": f"Bearer {tokens.issue('busy', key=key)}"}
    assert api.get("/images", headers=headers).status_code == 200

    def throttle(**_: Any) -> None:
        raise client_error(code, status, "Query")

    aws_faults("dynamodb", "Query", throttle)
    response = api.get("/images", headers=headers)
    assert (response.status_code, response.headers.get("Retry-After")) == (503, "1")
    assert response.get_json()["message"] == "the service is busy; retry in a moment"


# -- every route, every AWS call it makes ---------------------------------------------------------------
_SERVICES = ("s3", "dynamodb", "stepfunctions")


class _CallFaults:
    """Counts the AWS calls of this thread (``imgflow.aws.client``); fails call number ``fail_at``."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.calls: list[str] = []
        self.fail_at: int | None = None
        self.code, self.status = "ThrottlingException", 400

    def __call__(self, event_name: str, **_: Any) -> None:
        if threading.get_ident() != self.thread:
            return  # the workflow's handlers run in this process too; only the API's own calls count
        self.calls.append(event_name.removeprefix("before-call."))
        if len(self.calls) == self.fail_at:
            raise client_error(self.code, self.status, self.calls[-1])


@pytest.fixture
def call_faults() -> Iterator[_CallFaults]:
    faults = _CallFaults()
    clients = [aws.client(service) for service in _SERVICES]
    for client in clients:
        client.meta.events.register("before-call", faults)
    yield faults
    for client in clients:
        client.meta.events.unregister("before-call", faults)


_JPEG = base64.b64encode(samples.solid_jpeg(64, 48)).decode()
#: Every route that reaches AWS, with a body where it needs one; ``{id}`` is a PROCESSED image of the owner.
_ROUTES = [
    ("POST", "/uploads", {"filename": "a.jpg", "content_type": "image/jpeg", "size": 1000}),
    ("POST", "/images", {"filename": "a.jpg", "content_type": "image/jpeg", "data": _JPEG}),
    ("GET", "/images", None),
    ("GET", "/images/{id}", None),
    ("GET", "/images/{id}/status", None),
    ("PATCH", "/images/{id}", {"tags": ["busy"]}),
    ("DELETE", "/images/{id}", None),
    ("POST", "/images/{id}/reprocess", None),
    ("GET", "/images/{id}/runs", None),
]


def _processed(api: Client, headers: dict[str, str]) -> str:
    accepted = api.post(
        "/images", json={"filename": "p.jpg", "content_type": "image/jpeg", "data": _JPEG}, headers=headers
    )
    image_id = str(accepted.get_json()["id"])
    deadline = time.monotonic() + 60
    while api.get(f"/images/{image_id}/status", headers=headers).get_json()["status"] != "PROCESSED":
        assert time.monotonic() < deadline, "the image never reached PROCESSED"
        time.sleep(0.05)
    return image_id


def _quiet(cloud: LocalCloud) -> None:
    """No ingest run in flight (a run started by the route must not meet the next case's faults)."""
    sfn = cloud.client("stepfunctions")
    deadline = time.monotonic() + 60
    while sfn.list_executions(stateMachineArn=cloud.ingest_arn, statusFilter="RUNNING")["executions"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.mark.parametrize(("method", "path", "body"), _ROUTES, ids=[f"{m} {p}" for m, p, _ in _ROUTES])
def test_every_aws_call_of_every_route_is_a_503_when_throttled_or_failing(
    cloud: LocalCloud,
    call_faults: _CallFaults,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    monkeypatch.setenv("IMGFLOW_CURSOR_KEY", secrets.token_hex(32))
    monkeypatch.setenv("IMGFLOW_INGEST_STATE_MACHINE_ARN", cloud.ingest_arn)
    config.settings.cache_clear()
    key = secrets.token_bytes(32)
    api = Client(ApiGateway(key))
    headers = {"Authorization": f"Bearer {tokens.issue('busy-' + secrets.token_hex(4), key=key)}"}

    def call(fail_at: int | None = None, code: str = "", status: int = 0) -> Any:
        url = path.replace("{id}", _processed(api, headers)) if "{id}" in path else path
        _quiet(cloud)
        call_faults.calls.clear()
        call_faults.fail_at, call_faults.code, call_faults.status = fail_at, code, status
        try:
            return api.open(url, method=method, json=body, headers=headers)
        finally:
            call_faults.fail_at = None
            _quiet(cloud)

    clean = call()
    assert clean.status_code < 300, clean.get_data(as_text=True)
    made = list(call_faults.calls)
    assert made, "the route makes AWS calls"
    cases = [(n, "ThrottlingException", 400) for n in range(1, len(made) + 1)] + [(1, "InternalError", 500)]
    for n, code, status in cases:
        response = call(n, code, status)
        failed = call_faults.calls[n - 1] if len(call_faults.calls) >= n else "?"
        assert (response.status_code, response.headers.get("Retry-After")) == (503, "1"), (
            f"{failed} failing ({code}) answered {response.status_code}: {response.get_data(as_text=True)}"
        )


def test_routes_that_reach_no_aws_answer_under_faults(cloud: LocalCloud, call_faults: _CallFaults) -> None:
    api = Client(ApiGateway(secrets.token_bytes(32)))
    call_faults.fail_at = 1
    assert api.get("/openapi.json").status_code == 200
    assert call_faults.calls == []
