"""IAM on the local stack: only signed calls from known keys, each function under its template role."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from imgflow import keys
from imgflow_tools.local.cloud import LocalCloud

INGEST_FUNCTIONS = ("imgflow-validate", "imgflow-extract_meta", "imgflow-resize", "imgflow-record")


def _client(cloud: LocalCloud, service: str, key: str, secret: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=cloud.endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )


# -- signatures --------------------------------------------------------------------------------------------
def test_unsigned_calls_are_refused(cloud: LocalCloud) -> None:
    s3 = requests.get(f"{cloud.endpoint}/{cloud.settings.uploads_bucket}?list-type=2", timeout=10)
    assert s3.status_code == 403 and b"<Code>AccessDenied</Code>" in s3.content
    ddb = requests.post(
        cloud.endpoint,
        data=json.dumps({"TableName": cloud.settings.table_name}),
        headers={"X-Amz-Target": "DynamoDB_20120810.Scan", "Content-Type": "application/x-amz-json-1.0"},
        timeout=10,
    )
    assert ddb.status_code == 400 and "MissingAuthenticationTokenException" in ddb.json()["__type"]
    for path in ("/moto-api/reset", "/_imgflow/faults", "/_imgflow/iam"):
        refused = requests.post(cloud.endpoint + path, timeout=10)
        assert refused.status_code == 403, path
        assert "MissingAuthenticationTokenException" in refused.json()["__type"], path  # JSON, as they answer


def test_unknown_key_is_refused(cloud: LocalCloud) -> None:
    with pytest.raises(ClientError) as s3:
        _client(cloud, "s3", "AKIAUNKNOWNUNKNOWN00", "x" * 40).list_objects_v2(
            Bucket=cloud.settings.uploads_bucket
        )
    assert s3.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    with pytest.raises(ClientError) as ddb:
        _client(cloud, "dynamodb", "AKIAUNKNOWNUNKNOWN00", "x" * 40).scan(TableName=cloud.settings.table_name)
    assert ddb.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_wrong_signature_is_refused(cloud: LocalCloud) -> None:
    assert cloud.iam is not None
    operator = cloud.iam.keys.operator.access_key_id
    with pytest.raises(ClientError) as s3:
        _client(cloud, "s3", operator, "wrong" * 8).list_objects_v2(Bucket=cloud.settings.uploads_bucket)
    assert s3.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    with pytest.raises(ClientError) as sfn:
        _client(cloud, "stepfunctions", operator, "wrong" * 8).list_state_machines()
    assert sfn.value.response["Error"]["Code"] == "InvalidSignatureException"
    # The operator's own key, right secret: allowed.
    assert cloud.client("stepfunctions").list_state_machines()["stateMachines"]


def test_presigned_get_works_and_a_tampered_one_does_not(cloud: LocalCloud) -> None:
    s3 = boto3.client(
        "s3", endpoint_url=cloud.endpoint, region_name="us-east-1", config=Config(signature_version="s3v4")
    )  # signs as the operator
    key = keys.upload_key("iam", keys.new_image_id())
    s3.put_object(Bucket=cloud.settings.renditions_bucket, Key=key, Body=b"x")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": cloud.settings.renditions_bucket, "Key": key}
    )
    assert requests.get(url, timeout=10).content == b"x"
    assert requests.get(url.replace("X-Amz-Signature=", "X-Amz-Signature=0"), timeout=10).status_code == 403


# -- roles -------------------------------------------------------------------------------------------------
def test_every_function_runs_under_its_template_role(cloud: LocalCloud) -> None:
    assert cloud.iam is not None
    roles = cloud.iam.role_arns()
    assert set(INGEST_FUNCTIONS) <= set(roles) and {
        "imgflow-api",
        "imgflow-ingest-machine",
        "imgflow-reprocess-machine",
    } <= set(roles)
    assert len(set(roles.values())) == len(roles)  # one role each
    lam = cloud.client("lambda")
    for name in INGEST_FUNCTIONS:
        assert lam.get_function(FunctionName=name)["Configuration"]["Role"] == roles[name]
