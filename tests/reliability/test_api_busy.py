"""The API answers a throttled or failing DynamoDB/S3 with 503 and Retry-After, never a bare 500."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from werkzeug.test import Client

from imgflow import config
from imgflow_tools import tokens
from imgflow_tools.local.cloud import LocalCloud
from imgflow_tools.local.server import ApiGateway
from tests.reliability.conftest import Inject, client_error


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
