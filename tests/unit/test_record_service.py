"""What `record` writes for each outcome, from the workflow state (no AWS)."""

from __future__ import annotations

import json

from imgflow.config import Settings
from imgflow.models import FinishInput
from tasks.record.service import error_message, image_from_event, result_fields

EVENT = {
    "version": "0",
    "id": "e1",
    "detail-type": "Object Created",
    "source": "aws.s3",
    "account": "123456789012",
    "time": "2026-11-22T03:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:s3:::b"],
    "detail": {
        "version": "0",
        "bucket": {"name": "b"},
        "object": {"key": "uploads/alice/img1", "size": 5, "etag": "x", "sequencer": "00A1"},
        "request-id": "r",
        "requester": "123456789012",
        "source-ip-address": "1.2.3.4",
        "reason": "PutObject",
    },
}
IMAGE = {"id": "img1", "owner": "alice", "bucket": "b", "key": "uploads/alice/img1", "sequencer": "00A1"}
VALIDATED = {
    "format": "JPEG",
    "width": 60,
    "height": 40,
    "frames": 1,
    "mode": "RGB",
    "bytes": 5,
    "content_type": "image/jpeg",
}


def _finish(status: str, **state: object) -> FinishInput:
    return FinishInput.model_validate(
        {"action": "finish", "status": status, "execution_arn": "arn:x", "state": {**EVENT, **state}}
    )


def test_the_upload_is_identified_from_an_s3_event_or_a_reprocess_event() -> None:
    image, reprocess = image_from_event(EVENT, Settings())
    assert (image.id, image.owner, image.sequencer, reprocess) == ("img1", "alice", "00A1", False)
    again = {
        **EVENT,
        "source": "imgflow.reprocess",
        "detail-type": "Reprocess Requested",
        "detail": {"bucket": {"name": "b"}, "object": {"key": "uploads/alice/img1", "sequencer": "00A1"}},
    }
    image, reprocess = image_from_event(again, Settings())
    assert (image.id, reprocess) == ("img1", True)


def test_a_rejection_records_its_reason_code_and_message() -> None:
    cause = json.dumps(
        {"errorType": "TooManyPixels", "errorMessage": "20000x14000 is too many", "stackTrace": []}
    )
    fields = result_fields(
        _finish("REJECTED", image=IMAGE, error={"Error": "TooManyPixels", "Cause": cause}), "v1"
    )
    assert fields["reason"] == "too_many_pixels"
    assert fields["error"] == {"type": "TooManyPixels", "message": "20000x14000 is too many"}


def test_a_failure_records_the_error_without_a_stack_trace() -> None:
    cause = json.dumps(
        {"errorType": "StorageThrottled", "errorMessage": "SlowDown", "stackTrace": ["secret"]}
    )
    fields = result_fields(
        _finish("FAILED", image=IMAGE, error={"Error": "StorageThrottled", "Cause": cause}), "v1"
    )
    assert fields["reason"] is None
    assert fields["error"] == {"type": "StorageThrottled", "message": "SlowDown"}


def test_a_processed_record_takes_display_dimensions_from_the_metadata() -> None:
    processed = {
        "renditions": [
            {"name": "thumb", "width": 40, "height": 60, "format": "JPEG", "bytes": 9, "key": "k"}
        ],
        "meta": {
            "width": 40,
            "height": 60,
            "stored_width": 60,
            "stored_height": 40,
            "exif": {"orientation": 6},
        },
    }
    fields = result_fields(_finish("PROCESSED", image=IMAGE, validated=VALIDATED, processed=processed), "v1")
    assert (fields["width"], fields["height"], fields["stored_width"]) == (40, 60, 60)
    assert fields["renditions"][0]["key"] == "k" and fields["exif"] == {"orientation": 6}


def test_a_processed_record_is_found_by_its_bytes_within_its_pipeline_version() -> None:
    processed = {"renditions": [], "meta": {}}
    validated = {**VALIDATED, "sha256": "ab" * 32}
    fields = result_fields(_finish("PROCESSED", image=IMAGE, validated=validated, processed=processed), "v7")
    assert fields["gsi3pk"] == f"OWNER#{IMAGE['owner']}#SHA#{'ab' * 32}"
    assert fields["gsi3sk"] == f"v7#{IMAGE['id']}"  # a lookup for v7 reads only v7's entries


def test_error_messages_are_read_from_any_cause() -> None:
    assert error_message(None) == ""
    assert error_message("plain words") == "plain words"
    assert error_message(json.dumps({"errorMessage": "m"})) == "m"
    assert len(error_message("x" * 5000)) == 1000
