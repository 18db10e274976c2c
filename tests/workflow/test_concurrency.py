"""Lambda concurrency in the local mode (moto_adapter 8.): a function at its reserved concurrency refuses the
next invocation exactly as Lambda does, and the workflow engine sees ``Lambda.TooManyRequestsException``."""

from __future__ import annotations

import inspect
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from imgflow.workflow.functions import TASKS, reserved_concurrency
from imgflow_tools.local import moto_adapter
from imgflow_tools.local.cloud import ROLE_ARN, LocalCloud, _placeholder_zip
from tests.support.waiting import wait_final

_entered = threading.Event()
_release = threading.Event()


def blocking_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A function that holds its slot until the test releases it."""
    _entered.set()
    if not _release.wait(timeout=30):
        raise TimeoutError("never released")
    return {"ok": True, "n": event.get("n")}


def _blocking_function(cloud: LocalCloud, reserved: int | None) -> str:
    name = f"imgflow-test-blocking-{time.monotonic_ns()}"
    lam = cloud.client("lambda")
    arn = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE_ARN,
        Handler=f"{__name__}.blocking_handler",
        Code={"ZipFile": _placeholder_zip()},
        Timeout=30,
    )["FunctionArn"]
    if reserved is not None:
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=reserved)
    _entered.clear()
    _release.clear()
    return str(arn)


@pytest.fixture
def limited_function(cloud: LocalCloud) -> Iterator[str]:
    """A function reserved to 1 concurrent invocation (its handler blocks until released)."""
    yield _blocking_function(cloud, 1)
    _release.set()


def _no_retry_lambda(cloud: LocalCloud) -> Any:
    # boto3 would retry a 429 on its own; the Step Functions engine's client does not (max_attempts 0).
    import boto3

    return boto3.client(
        "lambda",
        endpoint_url=cloud.endpoint,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}),
    )


def test_upstream_never_applies_reserved_concurrency(cloud: LocalCloud) -> None:
    source = inspect.getsource(moto_adapter.UPSTREAM["lambda_function_invoke"])
    assert "reserved_concurrency" not in source and "TooManyRequests" not in source


def test_a_function_limited_to_1_refuses_a_second_concurrent_invocation(
    cloud: LocalCloud, limited_function: str
) -> None:
    lam = _no_retry_lambda(cloud)
    first: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: first.update(lam.invoke(FunctionName=limited_function, Payload=b'{"n": 1}'))
    )
    thread.start()
    assert _entered.wait(timeout=10)
    throttled_before = moto_adapter.concurrency.total_throttled

    with pytest.raises(ClientError) as refused:
        lam.invoke(FunctionName=limited_function, Payload=b'{"n": 2}')

    response = refused.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert response["Error"] == {"Code": "TooManyRequestsException", "Message": "Rate Exceeded."}
    assert response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert response["Type"] == "User"
    assert moto_adapter.concurrency.total_throttled == throttled_before + 1

    _release.set()
    thread.join(timeout=10)
    assert json.loads(first["Payload"].read()) == {"ok": True, "n": 1}
    # The slot is free again once the first invocation has returned.
    again = lam.invoke(FunctionName=limited_function, Payload=b'{"n": 3}')
    assert json.loads(again["Payload"].read()) == {"ok": True, "n": 3}


def test_the_engine_sees_lambda_too_many_requests(cloud: LocalCloud, limited_function: str) -> None:
    sfn = cloud.client("stepfunctions")
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": limited_function, "Payload": {}},
                "End": True,
            }
        },
    }
    machine = sfn.create_state_machine(
        name=f"throttle-{time.monotonic_ns()}", definition=json.dumps(definition), roleArn=ROLE_ARN
    )["stateMachineArn"]
    holder = sfn.start_execution(stateMachineArn=machine, name="holder")["executionArn"]
    assert _entered.wait(timeout=10)
    refused = sfn.start_execution(stateMachineArn=machine, name="refused")["executionArn"]
    outcome = wait_final(cloud, refused)
    _release.set()

    assert outcome["status"] == "FAILED"
    assert outcome["error"] == "Lambda.TooManyRequestsException"
    assert outcome["cause"].startswith("Rate Exceeded. (Service: AWSLambda; Status Code: 429; ")
    assert wait_final(cloud, holder)["status"] == "SUCCEEDED"


def test_the_local_stack_reserves_what_the_cdk_app_reserves(cloud: LocalCloud) -> None:
    lam = cloud.client("lambda")
    assert cloud.concurrency is None
    for spec in TASKS:
        reserved = lam.get_function_concurrency(FunctionName=f"imgflow-{spec.name}").get(
            "ReservedConcurrentExecutions"
        )
        assert reserved == reserved_concurrency(spec)
    assert {s.name for s in TASKS if s.reserved_concurrency} == {"validate", "resize", "extract_meta"}


def test_a_throttled_task_waits_in_real_time_other_retries_are_scaled() -> None:
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName

    seen: list[bool] = []

    def original(self: Any, env: Any) -> None:
        seen.append(moto_adapter._throttle_wait.get())

    class Env:
        def __init__(self, error: str) -> None:
            self.stack = [CustomErrorName(error)]

    wrapped = moto_adapter._real_time_throttle_waits(original)
    wrapped(None, Env("Lambda.TooManyRequestsException"))
    wrapped(None, Env("StorageThrottled"))
    assert seen == [True, False]
    assert moto_adapter._throttle_wait.get() is False


def test_unreserved_functions_share_what_the_account_quota_leaves(cloud: LocalCloud) -> None:
    arn = _blocking_function(cloud, None)
    lam = _no_retry_lambda(cloud)
    reserved_total = sum(
        lam.get_function_concurrency(FunctionName=f["FunctionName"]).get("ReservedConcurrentExecutions", 0)
        for f in lam.list_functions()["Functions"]
    )
    old = moto_adapter.concurrency.account_limit
    moto_adapter.concurrency.account_limit = reserved_total + 1  # one unreserved slot left
    try:
        thread = threading.Thread(target=lambda: lam.invoke(FunctionName=arn, Payload=b"{}"))
        thread.start()
        assert _entered.wait(timeout=10)
        with pytest.raises(ClientError) as refused:
            lam.invoke(FunctionName=arn, Payload=b"{}")
        assert refused.value.response["Reason"] == "ConcurrentInvocationLimitExceeded"
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    finally:
        moto_adapter.concurrency.account_limit = old
        _release.set()
        thread.join(timeout=10)
