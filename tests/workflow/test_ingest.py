"""statemachine/ingest.asl.json on moto's engine: every state, every Retry and Catch path."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError

from imgflow import aws, keys
from imgflow.records import ImageRepository
from imgflow.workflow import asl
from imgflow_tools.local import moto_adapter
from imgflow_tools.local.cloud import ACCOUNT, REGION, LocalCloud
from tests.support.asl import all_states
from tests.support.cloud import entered_states, executions_for, failed_tasks, history, put_upload
from tests.support.faults import Inject
from tests.support.images import jpeg_bytes
from tests.support.waiting import wait_final, wait_record

VISITED: set[str] = set()
#: Fail states reached only under injected faults (tests/reliability/test_named_errors.py).
REACHED_ELSEWHERE = {"NotClaimed", "NotRecorded"}


def _visit(cloud: LocalCloud, arn: str) -> list[dict[str, Any]]:
    events = history(cloud, arn)
    VISITED.update(entered_states(events))
    return events


def _throttle(operation: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}, operation
    )


def test_a_valid_upload_is_processed(cloud: LocalCloud) -> None:
    image_id = put_upload(cloud, jpeg_bytes((1600, 1200)))
    record = wait_record(cloud, image_id)

    assert record["status"] == "PROCESSED"
    assert (record["width"], record["height"], record["format"]) == (1600, 1200, "JPEG")
    assert [(r["name"], r["width"], r["height"]) for r in record["renditions"]] == [
        ("thumb", 256, 192),
        ("medium", 1024, 768),
        ("large", 1600, 1200),  # never upscaled
    ]
    s3 = cloud.client("s3")
    for rendition in record["renditions"]:
        head = s3.head_object(Bucket=cloud.settings.renditions_bucket, Key=rendition["key"])
        assert head["ContentLength"] == rendition["bytes"]
    events = _visit(cloud, record["execution_arn"])
    states = entered_states(events)
    assert states[:4] == ["Claim", "Validate", "Known", "Process"]  # Known: no image with these bytes
    assert sorted(states[4:6]) == ["ExtractMeta", "Resize"]  # the Parallel's branches, in either order
    assert states[6:] == ["RecordProcessed", "Processed"]
    assert record["placeholder"]["kind"] == "thumbhash" and len(record["phash"]) == 16
    assert record["pipeline_version"] == cloud.settings.pipeline_version


def test_a_rejected_upload_is_recorded_with_its_reason_and_not_retried(cloud: LocalCloud) -> None:
    data = jpeg_bytes((800, 600))
    image_id = put_upload(cloud, data[: len(data) // 2])
    record = wait_record(cloud, image_id)

    assert record["status"] == "REJECTED"
    assert record["reason"] == "truncated"
    assert record["error"]["type"] == "TruncatedImage"
    events = _visit(cloud, record["execution_arn"])
    assert entered_states(events) == ["Claim", "Validate", "RecordRejected", "Rejected"]
    assert failed_tasks(events) == ["TruncatedImage"]  # one attempt: rejections are never retried
    tags = cloud.client("s3").get_object_tagging(
        Bucket=cloud.settings.uploads_bucket, Key=record["source_key"]
    )
    assert {"Key": "imgflow-verdict", "Value": "rejected"} in tags["TagSet"]  # the lifecycle rule expires it
    assert cloud.client("stepfunctions").describe_execution(executionArn=record["execution_arn"])[
        "status"
    ] == ("SUCCEEDED")


def test_a_key_the_api_never_handed_out_is_rejected(cloud: LocalCloud) -> None:
    key = f"{cloud.settings.uploads_prefix}stray-{keys.new_image_id()}.jpg"
    cloud.client("s3").put_object(Bucket=cloud.settings.uploads_bucket, Key=key, Body=jpeg_bytes())
    record = wait_record(cloud, keys.identity_for_key(key).image_id)
    assert (record["status"], record["reason"], record["owner"]) == (
        "REJECTED",
        "bad_key",
        keys.UNROUTED_OWNER,
    )


def test_a_transient_failure_is_retried_and_then_succeeds(cloud: LocalCloud, aws_faults: Inject) -> None:
    calls = {"n": 0}

    def throttle_twice(params: dict[str, Any], **_: Any) -> None:
        if params.get("Bucket") == cloud.settings.renditions_bucket:
            calls["n"] += 1
            if calls["n"] <= 2:
                raise _throttle("PutObject")

    aws_faults("s3", "PutObject", throttle_twice)
    image_id = put_upload(cloud, jpeg_bytes())
    record = wait_record(cloud, image_id)

    assert record["status"] == "PROCESSED"
    events = _visit(cloud, record["execution_arn"])
    assert failed_tasks(events) == ["StorageThrottled", "StorageThrottled"]
    assert entered_states(events)[-2:] == ["RecordProcessed", "Processed"]


def test_a_failure_after_retries_are_exhausted_still_ends_in_a_failed_record(
    cloud: LocalCloud, aws_faults: Inject
) -> None:
    image_id = keys.new_image_id()

    def always_throttle(params: dict[str, Any], **_: Any) -> None:
        if image_id in params.get("Key", ""):
            raise _throttle("PutObject")

    aws_faults("s3", "PutObject", always_throttle)
    put_upload(cloud, jpeg_bytes(), image_id=image_id)
    record = wait_record(cloud, image_id)

    assert record["status"] == "FAILED"
    assert record["error"]["type"] == "StorageThrottled"
    assert "SlowDown" in record["error"]["message"]
    events = _visit(cloud, record["execution_arn"])
    assert failed_tasks(events).count("StorageThrottled") == 7  # the first try and 6 retries
    assert entered_states(events)[-2:] == ["RecordFailed", "Failed"]
    execution = cloud.client("stepfunctions").describe_execution(executionArn=record["execution_arn"])
    assert (execution["status"], execution["error"]) == ("FAILED", "StorageThrottled")
    # The console shows the message, not Lambda's JSON error object with its stack trace.
    assert execution["cause"] == record["error"]["message"]
    assert "stackTrace" not in execution["cause"] and "Traceback" not in execution["cause"]


def test_an_error_that_is_not_transient_fails_without_retry(cloud: LocalCloud, aws_faults: Inject) -> None:
    image_id = keys.new_image_id()

    def gone(params: dict[str, Any], **_: Any) -> None:
        if image_id in params.get("Key", ""):
            raise ClientError({"Error": {"Code": "404", "Message": "Not Found"}}, "HeadObject")

    aws_faults("s3", "HeadObject", gone)
    put_upload(cloud, jpeg_bytes(), image_id=image_id)
    record = wait_record(cloud, image_id)

    assert (record["status"], record["error"]["type"]) == ("FAILED", "SourceMissing")
    assert failed_tasks(_visit(cloud, record["execution_arn"])) == ["SourceMissing"]


def test_a_duplicated_event_leaves_one_record(cloud: LocalCloud) -> None:
    image_id = put_upload(cloud, jpeg_bytes())
    first = wait_record(cloud, image_id)
    [execution] = executions_for(cloud, image_id)
    event = json.loads(execution["input"])

    moto_adapter.put_event(ACCOUNT, REGION, event)  # EventBridge delivers the same event again
    runs = executions_for(cloud, image_id)
    assert len(runs) == 2
    duplicate = wait_final(
        cloud, next(r for r in runs if r["executionArn"] != first["execution_arn"])["executionArn"]
    )

    assert duplicate["status"] == "SUCCEEDED"
    assert entered_states(_visit(cloud, duplicate["executionArn"])) == ["Claim", "Duplicate"]
    after = ImageRepository(cloud.settings.table_name).get(image_id)
    assert after == {k: v for k, v in first.items()}  # untouched: same run, same timestamps


def test_a_stale_event_does_not_overwrite_a_newer_upload(cloud: LocalCloud) -> None:
    image_id = put_upload(cloud, jpeg_bytes((300, 200)))
    first = wait_record(cloud, image_id)
    [old] = executions_for(cloud, image_id)
    put_upload(cloud, jpeg_bytes((400, 300)), image_id=image_id)  # the same key written again
    newer = wait_record(cloud, image_id, not_by=first["execution_arn"])
    assert newer["width"] == 400

    moto_adapter.put_event(ACCOUNT, REGION, json.loads(old["input"]))  # the old event, late
    late = max(executions_for(cloud, image_id), key=lambda e: e["startDate"])
    assert entered_states(history(cloud, wait_final(cloud, late["executionArn"])["executionArn"])) == [
        "Claim",
        "Duplicate",
    ]
    assert ImageRepository(cloud.settings.table_name).get(image_id)["width"] == 400


def test_a_run_overtaken_by_a_newer_upload_drops_its_result(cloud: LocalCloud, aws_faults: Inject) -> None:
    image_id = keys.new_image_id()
    entered, release = threading.Event(), threading.Event()
    first = {"call": True}

    def hold_first_validate(params: dict[str, Any], **_: Any) -> None:
        if image_id in params.get("Key", "") and first["call"]:
            first["call"] = False
            entered.set()
            release.wait(30)

    aws_faults("s3", "HeadObject", hold_first_validate)
    put_upload(cloud, jpeg_bytes((300, 200)), image_id=image_id)
    assert entered.wait(30)
    put_upload(cloud, jpeg_bytes((500, 400)), image_id=image_id)  # overwritten while the first run works
    newer = wait_record(cloud, image_id)  # the first run is held before it can finish
    release.set()
    runs = [wait_final(cloud, r["executionArn"]) for r in executions_for(cloud, image_id)]
    overtaken = next(r for r in runs if r["executionArn"] != newer["execution_arn"])

    assert entered_states(_visit(cloud, overtaken["executionArn"]))[-2:] == ["RecordProcessed", "Superseded"]
    final = ImageRepository(cloud.settings.table_name).get(image_id)
    assert (final["execution_arn"], final["width"]) == (newer["execution_arn"], 500)


def test_the_same_bytes_twice_reuse_the_first_image_without_a_resize(cloud: LocalCloud) -> None:
    from api import service  # the API's delete: record, original and renditions

    data = jpeg_bytes((900, 600))
    first_id = put_upload(cloud, data, owner="twice")
    first = wait_record(cloud, first_id)
    second_id = put_upload(cloud, data, owner="twice")
    second = wait_record(cloud, second_id)

    assert first["status"] == second["status"] == "PROCESSED"
    assert first.get("duplicate_of") is None and second["duplicate_of"] == first_id
    assert second["sha256"] == first["sha256"] and second["phash"] == first["phash"]
    assert second["placeholder"] == first["placeholder"] and second["placeholder"]["kind"] == "thumbhash"
    assert (second["width"], second["height"], second["exif"]) == (
        first["width"],
        first["height"],
        first["exif"],
    )
    states = entered_states(_visit(cloud, second["execution_arn"]))
    assert states == ["Claim", "Validate", "Known", "Reuse", "RecordProcessed", "Processed"]
    assert "Resize" not in states and "Process" not in states  # nothing decoded or resized
    assert "Resize" in entered_states(_visit(cloud, first["execution_arn"]))
    # Each image owns its rendition objects (copies): none is shared.
    assert {r["key"] for r in first["renditions"]}.isdisjoint(r["key"] for r in second["renditions"])
    assert all(r["key"].startswith(f"twice/{second_id}/") for r in second["renditions"])

    service.delete_image("twice", first_id, cloud.settings)
    s3 = cloud.client("s3")
    for rendition in second["renditions"]:
        body = s3.get_object(Bucket=cloud.settings.renditions_bucket, Key=rendition["key"])["Body"].read()
        assert len(body) == rendition["bytes"]
    for rendition in first["renditions"]:
        with pytest.raises(ClientError):
            s3.head_object(Bucket=cloud.settings.renditions_bucket, Key=rendition["key"])

    # Another owner's identical upload is never a duplicate of this owner's image.
    other_id = put_upload(cloud, data, owner="someone-else")
    other = wait_record(cloud, other_id)
    assert other.get("duplicate_of") is None and "Resize" in entered_states(
        _visit(cloud, other["execution_arn"])
    )


def test_a_duplicate_whose_first_image_is_deleted_before_reuse_is_processed_anew(cloud: LocalCloud) -> None:
    """Validate finds the first image; it is deleted before Reuse reads it: OriginalGone, then Process."""
    from api import service  # the API's delete: record, original and renditions

    data = jpeg_bytes((640, 400))
    first_id = put_upload(cloud, data, owner="gone")
    assert wait_record(cloud, first_id)["status"] == "PROCESSED"
    found, resume = threading.Event(), threading.Event()

    def hold_after_lookup(parsed: dict[str, Any], **_: Any) -> None:
        # The by_content Query of the second upload's Validate has answered with the first image.
        if not found.is_set() and first_id in json.dumps(parsed.get("Items", [])):
            found.set()
            resume.wait(30)

    ddb = aws.client("dynamodb")  # the handlers' client
    ddb.meta.events.register("after-call.dynamodb.Query", hold_after_lookup)
    try:
        second_id = put_upload(cloud, data, owner="gone")
        assert found.wait(30), "Validate never looked the bytes up"
        service.delete_image("gone", first_id, cloud.settings)
    finally:
        resume.set()
        ddb.meta.events.unregister("after-call.dynamodb.Query", hold_after_lookup)
    second = wait_record(cloud, second_id)

    assert second["status"] == "PROCESSED" and second.get("duplicate_of") is None
    events = _visit(cloud, second["execution_arn"])
    states = entered_states(events)
    assert states[:4] == ["Claim", "Validate", "Known", "Reuse"] and states[-2:] == [
        "RecordProcessed",
        "Processed",
    ]
    assert states[4] == "Process" and "Resize" in states  # computed anew, not copied
    assert failed_tasks(events) == ["OriginalGone"]
    validate_out = next(
        json.loads(e["stateExitedEventDetails"]["output"])
        for e in events
        if e.get("stateExitedEventDetails", {}).get("name") == "Validate"
    )
    assert validate_out["validated"]["duplicate_of"] == first_id  # Known did choose Reuse
    s3 = cloud.client("s3")
    for rendition in second["renditions"]:
        assert rendition["key"].startswith(f"gone/{second_id}/")
        body = s3.get_object(Bucket=cloud.settings.renditions_bucket, Key=rendition["key"])["Body"].read()
        assert len(body) == rendition["bytes"]


def test_every_state_of_the_definition_is_reached() -> None:
    definition = json.loads(asl.definition_text())
    states = set(all_states(definition))
    if not VISITED:
        pytest.skip("run with the other workflow tests (they record the states they reach)")
    assert states - VISITED - REACHED_ELSEWHERE == set()


def test_an_upload_after_its_image_was_deleted_does_not_bring_it_back(cloud: LocalCloud) -> None:
    image_id = put_upload(cloud, jpeg_bytes(), owner="deleter")
    wait_record(cloud, image_id)
    repo = ImageRepository(cloud.settings.table_name)
    assert repo.delete(image_id, "deleter")

    put_upload(cloud, jpeg_bytes(), owner="deleter", image_id=image_id)  # a late use of the presigned POST
    late = max(executions_for(cloud, image_id), key=lambda e: e["startDate"])
    assert entered_states(history(cloud, wait_final(cloud, late["executionArn"])["executionArn"])) == [
        "Claim",
        "Duplicate",
    ]
    assert repo.get(image_id)["status"] == "DELETED"
    tags = cloud.client("s3").get_object_tagging(
        Bucket=cloud.settings.uploads_bucket, Key=keys.upload_key("deleter", image_id)
    )
    assert {"Key": "imgflow-verdict", "Value": "rejected"} in tags["TagSet"]  # expired by the lifecycle rule
