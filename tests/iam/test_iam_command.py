"""``imgflow iam``: the endpoint's recorded usage, per role, as JSON or as a policy stream."""

from __future__ import annotations

import contextlib
import json

import pytest
from botocore.exceptions import ClientError

from imgflow import keys
from imgflow_tools.cli import main
from imgflow_tools.local.cloud import LocalCloud
from imgflow_tools.local.iam import credentials
from imgflow_tools.local.iam.enforcer import IAM_PATH
from imgflow_tools.ops import iam


def test_imgflow_iam_reports_each_roles_used_calls_and_unused_grants(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    assert iam.USAGE_PATH == IAM_PATH
    key = keys.upload_key("iam-command", keys.new_image_id())
    # One call as the validate function's role: a missing key (a 404: validate may ListBucket the uploads).
    with credentials.acting_as("imgflow-validate"), contextlib.suppress(ClientError):
        cloud.client("s3").head_object(Bucket=cloud.settings.uploads_bucket, Key=key)
    assert main(["iam", "--json", "--endpoint", cloud.endpoint]) == 0
    validate = json.loads(capsys.readouterr().out)["roles"]["imgflow-validate"]
    assert validate["role"].endswith(":role/imgflow-validate-role")
    used = {(u["action"], u["resource"]) for u in validate["used"]}
    assert ("s3:GetObject", f"arn:aws:s3:::{cloud.settings.uploads_bucket}/{key}") in used
    assert all({"action", "resource"} <= set(u) for u in validate["unused"])

    assert main(["iam", "--endpoint", cloud.endpoint]) == 0
    text = capsys.readouterr().out
    assert "used     s3:GetObject" in text and f"{cloud.settings.uploads_bucket}/{key}" in text
    # A grant the code never calls shows with the template's reason (infra/grants.py) on the next line.
    assert "uncalled xray:PutTraceSegments" in text and "because: Active tracing" in text
    assert any(u.get("reason") for u in validate["unused"] if u["action"].startswith("logs:"))


def test_imgflow_iam_without_a_local_stack_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["iam", "--endpoint", "http://127.0.0.1:9"]) == 2
    assert "imgflow iam:" in capsys.readouterr().err
