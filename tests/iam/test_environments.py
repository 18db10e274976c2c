"""Each function runs with the environment its template gives it, not the one process-wide environment."""

from __future__ import annotations

import base64
import io
import secrets
import time

import pytest
from PIL import Image
from werkzeug.test import Client

from imgflow import config
from imgflow_tools import tokens
from imgflow_tools.local.cloud import LocalCloud
from imgflow_tools.local.environments import function_environment
from imgflow_tools.local.iam import credentials
from imgflow_tools.local.server import API_FUNCTION, ApiGateway

ARN = "IMGFLOW_INGEST_STATE_MACHINE_ARN"


def _processed(api: Client, headers: dict[str, str]) -> str:
    buf = io.BytesIO()
    Image.linear_gradient("L").resize((64, 48)).convert("RGB").save(buf, "JPEG")
    body = {
        "filename": "e.jpg",
        "content_type": "image/jpeg",
        "data": base64.b64encode(buf.getvalue()).decode(),
    }
    image_id = str(api.post("/images", json=body, headers=headers).get_json()["id"])
    deadline = time.monotonic() + 60
    while api.get(f"/images/{image_id}/status", headers=headers).get_json()["status"] != "PROCESSED":
        assert time.monotonic() < deadline, "the image never reached PROCESSED"
        time.sleep(0.05)
    return image_id


def test_a_variable_missing_from_a_functions_template_environment_fails_it(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cloud.iam is not None
    monkeypatch.setenv(ARN, cloud.ingest_arn)  # the process has it, as `imgflow serve` sets it
    monkeypatch.setenv("IMGFLOW_CURSOR_KEY", secrets.token_hex(32))
    config.settings.cache_clear()
    key = secrets.token_bytes(32)
    api = Client(ApiGateway(key))
    headers = {"Authorization": f"Bearer {tokens.issue('env', key=key)}"}
    image_id = _processed(api, headers)

    environments = cloud.iam.stack.environments
    template = environments[API_FUNCTION]
    environments[API_FUNCTION] = {k: v for k, v in template.items() if k != ARN}
    try:
        missing = api.post(f"/images/{image_id}/reprocess", headers=headers)
        with credentials.acting_as("imgflow-record"):  # another function's environment is its own
            assert config.settings().table_name == cloud.settings.table_name
        assert config.settings().ingest_state_machine_arn == cloud.ingest_arn  # and the process keeps it
    finally:
        environments[API_FUNCTION] = template
    assert missing.status_code == 503 and ARN in missing.get_json()["message"]
    assert api.post(f"/images/{image_id}/reprocess", headers=headers).status_code == 202


def test_the_template_names_the_variables_and_the_local_configuration_their_values() -> None:
    process = {
        "PATH": "/bin",
        "IMGFLOW_MAX_BYTES": "10",
        "IMGFLOW_FORMATS": "JPEG",
        "IMGFLOW_RENDITIONS": "[]",
    }
    template = {"IMGFLOW_MAX_BYTES": "67108864", "IMGFLOW_TABLE": "t", "IMGFLOW_PIPELINE_VERSION": "abc"}
    assert function_environment(template, process) == {
        "PATH": "/bin",
        "IMGFLOW_MAX_BYTES": "10",  # the local configuration's value
        "IMGFLOW_TABLE": "t",  # the template's
        "IMGFLOW_RENDITIONS": "[]",  # set by the deploy on every function when configured
    }  # IMGFLOW_FORMATS: no template gives it; the pipeline version: derived from the local configuration


def test_the_local_configurations_formats_and_reprocess_bounds_reach_the_functions(cloud: LocalCloud) -> None:
    assert cloud.iam is not None
    environments = cloud.iam.stack.environments
    local = {"IMGFLOW_FORMATS": "PNG", "IMGFLOW_REPROCESS_STUCK_AFTER_S": "5"}
    assert function_environment(environments["imgflow-validate"], local)["IMGFLOW_FORMATS"] == "PNG"
    reprocess = function_environment(environments["imgflow-reprocess"], local)
    assert reprocess["IMGFLOW_REPROCESS_STUCK_AFTER_S"] == "5"
