"""IAM on the local stack: only signed calls from known keys, each function under its template role."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from imgflow import keys
from imgflow_tools.local.cloud import FINAL, LocalCloud
from imgflow_tools.local.iam import policy
from tests.support.images import jpeg_bytes

#: Per function, how many of its used actions the removal test tries (the first ones, sorted): enough to
#: show the wiring per role and keep the suite's time small; ``IMGFLOW_IAM_ALL=1`` could widen it.
ACTIONS_PER_FUNCTION = 1
INGEST_FUNCTIONS = ("imgflow-validate", "imgflow-extract_meta", "imgflow-resize", "imgflow-record")


def _jpeg() -> bytes:
    """Bytes of their own each time: the same bytes again would be a duplicate, reused without a resize."""
    return jpeg_bytes((320, 240))


def _upload(cloud: LocalCloud) -> str:
    image_id = keys.new_image_id()
    cloud.client("s3").put_object(
        Bucket=cloud.settings.uploads_bucket, Key=keys.upload_key("iam", image_id), Body=_jpeg()
    )
    return image_id


def _run_of(cloud: LocalCloud, image_id: str, timeout: float = 60) -> dict[str, Any]:
    """The ended ingest execution of ``image_id``, with its history's text."""
    sfn = cloud.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in cloud.executions():
            described = sfn.describe_execution(executionArn=run["executionArn"])
            if image_id in described.get("input", "") and described["status"] in FINAL:
                history = sfn.get_execution_history(executionArn=run["executionArn"])["events"]
                return {**described, "history": json.dumps(history, default=str)}
        time.sleep(0.1)
    raise TimeoutError(image_id)


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
        assert requests.post(cloud.endpoint + path, timeout=10).status_code in (400, 403), path


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


def _used(cloud: LocalCloud) -> dict[str, list[tuple[str, str]]]:
    """A run's calls, per role, as the endpoint recorded them (never a hand-written list)."""
    assert cloud.iam is not None and cloud.iam.enforcer is not None
    usage = cloud.iam.enforcer.usage

    def calls() -> dict[str, dict[tuple[str, str], int]]:
        return {
            name: {(u["action"], u["resource"]): u["count"] for u in role["used"]}
            for name, role in usage.report(cloud.iam.stack)["roles"].items()
        }

    before = calls()  # the usage is the whole session's: only this run's calls count (not other tests')
    image_id = _upload(cloud)
    assert _run_of(cloud, image_id)["status"] == "SUCCEEDED"
    return {
        name: sorted(need for need, count in used.items() if count > before.get(name, {}).get(need, 0))
        for name, used in calls().items()
    }


def _without(policies: tuple[dict[str, Any], ...], action: str) -> tuple[dict[str, Any], ...]:
    """The policies with ``action`` taken out of every statement that names it."""
    out = []
    for document in policies:
        statements = []
        for statement in policy.statements([document]):
            names = statement.get("Action", [])
            names = [names] if isinstance(names, str) else list(names)
            kept = [n for n in names if n.lower() != action.lower()]
            if kept:
                statements.append({**statement, "Action": kept})
        out.append({**document, "Statement": statements})
    return tuple(out)


@pytest.mark.parametrize("function", [*INGEST_FUNCTIONS, "imgflow-ingest-machine"])
def test_a_role_without_a_used_action_fails_the_run_with_access_denied(
    cloud: LocalCloud, function: str
) -> None:
    assert cloud.iam is not None
    used = _used(cloud)
    actions = sorted({action for action, _ in used[function]})
    assert actions, f"{function} made no call in a run"
    for action in actions[:ACTIONS_PER_FUNCTION]:
        role = cloud.iam.keys.sessions[function].role
        assert role is not None
        undo = cloud.iam.restrict(function, _without(role.policies, action))
        try:
            run = _run_of(cloud, _upload(cloud))
        finally:
            undo()
        # A HEAD's 403 has no body, in AWS too: boto3 names it "(403) ... HeadObject operation: Forbidden".
        denied = ("AccessDenied", "(403) when calling the HeadObject operation: Forbidden")
        assert any(text in run["history"] for text in denied), (function, action, run["status"])
