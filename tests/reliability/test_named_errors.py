"""Every DynamoDB and S3 failure has a workflow name, and the ASL retries it where it can happen.

Faults are raised at the AWS boundary of the task code (botocore events of ``imgflow.aws`` clients);
outcomes are read from the records and the execution histories.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from imgflow import aws, keys
from imgflow.errors import SourceMissing, StorageThrottled, TransientError
from imgflow.records import ImageRepository
from imgflow_tools.local.cloud import LocalCloud
from tests.support.cloud import entered_states, executions_for, failed_tasks, history, put_upload
from tests.support.faults import Inject, about, client_error, written_status
from tests.support.images import jpeg_bytes
from tests.support.waiting import wait_final, wait_record


@pytest.mark.parametrize(
    ("code", "status", "named"),
    [
        ("ProvisionedThroughputExceededException", 400, StorageThrottled),
        ("ThrottlingException", 400, StorageThrottled),
        ("RequestLimitExceeded", 400, StorageThrottled),
        ("SlowDown", 503, StorageThrottled),
        ("InternalServerError", 500, TransientError),
        ("InternalError", 500, TransientError),
        ("ServiceUnavailable", 503, TransientError),
        ("TransactionConflictException", 400, TransientError),
        ("RequestTimeout", 400, TransientError),
        ("SomethingNew", 502, TransientError),  # any 5xx, whatever its code
        ("NoSuchKey", 404, SourceMissing),
    ],
)
def test_aws_error_codes_get_workflow_names(code: str, status: int, named: type[Exception]) -> None:
    with pytest.raises(named) as raised, aws.translated_errors():
        raise client_error(code, status)
    assert type(raised.value) is named


@pytest.mark.parametrize(
    "exc",
    [
        ReadTimeoutError(endpoint_url="http://x"),
        ConnectionClosedError(endpoint_url="http://x"),
    ],
)
def test_timeouts_and_resets_are_transient(exc: Exception) -> None:
    with pytest.raises(TransientError), aws.translated_errors():
        raise exc


def test_a_client_error_that_is_not_transient_keeps_its_code() -> None:
    with pytest.raises(ClientError) as raised, aws.translated_errors():
        raise client_error("ConditionalCheckFailedException", 400)
    assert raised.value.response["Error"]["Code"] == "ConditionalCheckFailedException"


def test_every_repository_call_is_translated(cloud: LocalCloud, aws_faults: Inject) -> None:
    def throttle(**_: Any) -> None:
        raise client_error("ProvisionedThroughputExceededException", 400, "GetItem")

    aws_faults("dynamodb", "GetItem", throttle)
    with pytest.raises(StorageThrottled):
        ImageRepository(cloud.settings.table_name).get("nothing")


def _fail_n(image_id: str, status: str, times: int, code: str = "ProvisionedThroughputExceededException"):
    """A hook failing the first ``times`` UpdateItems of ``image_id`` that write ``status``."""
    seen = {"n": 0}

    def hook(params: dict[str, Any], **_: Any) -> None:
        if about(params, image_id) and written_status(params) == status:
            seen["n"] += 1
            if seen["n"] <= times:
                raise client_error(code, 500 if code.startswith("Internal") else 400)

    return hook, seen


def _fail_renditions(aws_faults: Inject, image_id: str) -> None:
    """Every PutObject of the image's renditions is throttled: resize fails after retries -> RecordFailed."""

    def rendition_gone(params: dict[str, Any], **_: Any) -> None:
        if image_id in params.get("Key", ""):
            raise client_error("SlowDown", 503, "PutObject")

    aws_faults("s3", "PutObject", rendition_gone)


def _only_execution(cloud: LocalCloud, image_id: str) -> dict[str, Any]:
    [execution] = executions_for(cloud, image_id)
    return wait_final(cloud, execution["executionArn"])


def _pending(cloud: LocalCloud, owner: str = "tester") -> str:
    image_id = keys.new_image_id()
    ImageRepository(cloud.settings.table_name).create_pending(
        image_id=image_id, owner=owner, filename="f.jpg", content_type="image/jpeg", size=None
    )
    return image_id


def test_a_throttled_claim_is_retried(cloud: LocalCloud, aws_faults: Inject) -> None:
    image_id = _pending(cloud)
    hook, seen = _fail_n(image_id, "PROCESSING", 2)
    aws_faults("dynamodb", "UpdateItem", hook)
    put_upload(cloud, jpeg_bytes(), image_id=image_id)
    record = wait_record(cloud, image_id)

    assert record["status"] == "PROCESSED"
    events = history(cloud, record["execution_arn"])
    assert failed_tasks(events) == ["StorageThrottled", "StorageThrottled"]
    assert entered_states(events).count("Claim") == 1 and seen["n"] == 3


def test_a_claim_that_cannot_be_written_leaves_the_upload_pending_not_failed(
    cloud: LocalCloud, aws_faults: Inject
) -> None:
    image_id = _pending(cloud)
    hook, _ = _fail_n(image_id, "PROCESSING", 1000, code="InternalServerError")
    aws_faults("dynamodb", "UpdateItem", hook)
    data = jpeg_bytes()
    put_upload(cloud, data[: len(data) // 2], image_id=image_id)  # would be REJECTED (truncated)
    execution = _only_execution(cloud, image_id)

    assert (execution["status"], execution["error"]) == ("FAILED", "ClaimNotWritten")
    events = history(cloud, execution["executionArn"])
    assert entered_states(events) == ["Claim", "NotClaimed"]
    assert failed_tasks(events) == ["TransientError"] * 7  # the first try and 6 retries
    record = ImageRepository(cloud.settings.table_name).get(image_id)
    assert record["status"] == "PENDING"  # the stuck repair finds it: never a FAILED that should be REJECTED


def test_a_throttled_rejection_record_is_retried_and_stays_a_rejection(
    cloud: LocalCloud, aws_faults: Inject
) -> None:
    image_id = keys.new_image_id()
    hook, _ = _fail_n(image_id, "REJECTED", 3)
    aws_faults("dynamodb", "UpdateItem", hook)
    data = jpeg_bytes()
    put_upload(cloud, data[: len(data) // 2], image_id=image_id)
    record = wait_record(cloud, image_id)

    assert (record["status"], record["reason"]) == ("REJECTED", "truncated")
    assert (
        failed_tasks(history(cloud, record["execution_arn"])) == ["TruncatedImage"] + ["StorageThrottled"] * 3
    )


def test_a_final_record_that_cannot_be_written_fails_the_execution_by_name(
    cloud: LocalCloud, aws_faults: Inject
) -> None:
    image_id = keys.new_image_id()
    hook, _ = _fail_n(image_id, "PROCESSED", 1000, code="InternalServerError")
    aws_faults("dynamodb", "UpdateItem", hook)
    put_upload(cloud, jpeg_bytes(), image_id=image_id)
    execution = _only_execution(cloud, image_id)

    assert (execution["status"], execution["error"]) == ("FAILED", "RecordNotWritten")
    events = history(cloud, execution["executionArn"])
    assert entered_states(events)[-2:] == ["RecordProcessed", "NotRecorded"]
    assert "RecordFailed" not in entered_states(events)  # a good image is never recorded FAILED for this
    assert failed_tasks(events) == ["TransientError"] * 11  # the first try and 10 retries
    record = ImageRepository(cloud.settings.table_name).get(image_id)
    assert (record["status"], record["execution_arn"]) == ("PROCESSING", execution["executionArn"])


def test_the_failure_record_is_retried_longer_than_any_other_write(
    cloud: LocalCloud, aws_faults: Inject
) -> None:
    image_id = keys.new_image_id()

    _fail_renditions(aws_faults, image_id)
    hook, seen = _fail_n(image_id, "FAILED", 12)  # more failures than any other state would survive
    aws_faults("dynamodb", "UpdateItem", hook)
    put_upload(cloud, jpeg_bytes(), image_id=image_id)
    record = wait_record(cloud, image_id)

    assert (record["status"], record["error"]["type"]) == ("FAILED", "StorageThrottled")
    assert seen["n"] == 13
    execution = cloud.client("stepfunctions").describe_execution(executionArn=record["execution_arn"])
    assert (execution["status"], execution["error"]) == ("FAILED", "StorageThrottled")  # the alarm's view


def test_a_failure_record_that_cannot_be_written_fails_by_name_and_stays_processing(
    cloud: LocalCloud, aws_faults: Inject
) -> None:
    image_id = keys.new_image_id()

    _fail_renditions(aws_faults, image_id)
    hook, _ = _fail_n(image_id, "FAILED", 1000)
    aws_faults("dynamodb", "UpdateItem", hook)
    put_upload(cloud, jpeg_bytes(), image_id=image_id)
    execution = _only_execution(cloud, image_id)

    assert (execution["status"], execution["error"]) == ("FAILED", "RecordNotWritten")
    assert entered_states(history(cloud, execution["executionArn"]))[-2:] == ["RecordFailed", "NotRecorded"]
    assert ImageRepository(cloud.settings.table_name).get(image_id)["status"] == "PROCESSING"


def test_a_storage_timeout_in_a_task_is_retried(cloud: LocalCloud, aws_faults: Inject) -> None:
    image_id = keys.new_image_id()
    calls = {"n": 0}

    def time_out(params: dict[str, Any], **_: Any) -> None:
        if image_id in params.get("Key", ""):
            calls["n"] += 1
            if calls["n"] == 1:
                raise ReadTimeoutError(endpoint_url="http://s3")

    aws_faults("s3", "HeadObject", time_out)
    put_upload(cloud, jpeg_bytes(), image_id=image_id)
    record = wait_record(cloud, image_id)

    assert record["status"] == "PROCESSED"
    assert failed_tasks(history(cloud, record["execution_arn"])) == ["TransientError"]
