"""The ingest state machine executed by moto's ASL engine, with the handlers in-process."""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PIL import Image

from imgflow import aws, keys
from imgflow.records import ImageRepository
from imgflow.records.table import FINAL_STATUSES
from imgflow_tools.local.cloud import LocalCloud


@pytest.fixture
def s3_faults() -> Iterator[Callable[[str, Callable[..., Any]], None]]:
    """Inject failures at the AWS boundary of the handlers: ``inject("PutObject", hook)``.

    The hook gets the ``params`` (Bucket, Key, ...) of each call the task code makes; raising fails it.
    """
    client = aws.client("s3")
    registered: list[tuple[str, Callable[..., Any]]] = []

    def inject(operation: str, hook: Callable[..., Any]) -> None:
        event = f"before-parameter-build.s3.{operation}"
        client.meta.events.register(event, hook)
        registered.append((event, hook))

    yield inject
    for event, hook in registered:
        client.meta.events.unregister(event, hook)


def jpeg_bytes(size: tuple[int, int] = (640, 480)) -> bytes:
    """A gradient JPEG; different bytes on every call (a random comment): the same bytes uploaded twice by
    one owner would be an exact duplicate, reused instead of resized."""
    buf = io.BytesIO()
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    image.save(buf, "JPEG", quality=85, comment=os.urandom(8).hex())
    return buf.getvalue()


def put_upload(cloud: LocalCloud, data: bytes, *, owner: str = "tester", image_id: str | None = None) -> str:
    """Write an original where the API would have it uploaded; S3's event starts the workflow."""
    image_id = image_id or keys.new_image_id()
    cloud.client("s3").put_object(
        Bucket=cloud.settings.uploads_bucket, Key=keys.upload_key(owner, image_id), Body=data
    )
    return image_id


def wait_record(
    cloud: LocalCloud, image_id: str, *, not_by: str | None = None, timeout: float = 60
) -> dict[str, Any]:
    """The image's final record, once the execution that wrote it (not ``not_by``) has ended."""
    repo = ImageRepository(cloud.settings.table_name)
    sfn = cloud.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = repo.get(image_id)
        # moto applies an update attribute by attribute: a concurrent read can see a half-written item.
        final = record and record.get("status") in FINAL_STATUSES and record.get("execution_arn") != not_by
        if final and sfn.describe_execution(executionArn=record["execution_arn"])["status"] != "RUNNING":
            return record
        time.sleep(0.05)
    raise TimeoutError(f"no final record for {image_id}: {repo.get(image_id)}")


def executions_for(cloud: LocalCloud, image_id: str) -> list[dict[str, Any]]:
    """Every execution whose input is an event about this image (newest first)."""
    sfn = cloud.client("stepfunctions")
    found = []
    for summary in cloud.executions():
        described = sfn.describe_execution(executionArn=summary["executionArn"])
        if image_id in json.loads(described["input"])["detail"]["object"]["key"]:
            found.append(described)
    return found


def wait_final(cloud: LocalCloud, arn: str, *, timeout: float = 60) -> dict[str, Any]:
    sfn = cloud.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise TimeoutError(arn)


def history(cloud: LocalCloud, arn: str) -> list[dict[str, Any]]:
    return cloud.client("stepfunctions").get_execution_history(executionArn=arn)["events"]


def entered_states(events: list[dict[str, Any]]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def failed_tasks(events: list[dict[str, Any]]) -> list[str]:
    return [e["taskFailedEventDetails"]["error"] for e in events if e["type"] == "TaskFailed"]
