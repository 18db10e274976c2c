"""The one local stack of the tests (LocalCloud on moto) and what tests do to it.

``running_cloud()`` starts it with the tests' time scales; ``deployed(cloud)`` deploys it again where moto
was reset under it. The fixtures ``_local_cloud`` (session) and ``cloud`` (module) in tests/conftest.py
are these two.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from imgflow import keys
from imgflow.records import TABLE, ImageRepository
from imgflow_tools.local import moto_adapter
from imgflow_tools.local.cloud import LocalCloud


@contextmanager
def running_cloud() -> Iterator[LocalCloud]:
    """The local stack, deployed; moto's state is process-wide, so one per test process."""
    # Retry waits of 1-20 s become milliseconds; the ASL's Retry policies are otherwise unchanged. A throttled
    # task (image tasks reserved to 20, as deployed) waits a quarter of its ASL wait: up to 15 s, ~3 min of
    # patience in all, still far above any backlog a test makes (moto_adapter 8.).
    with (
        moto_adapter.time_scale(0.001),
        moto_adapter.time_scale(0.25, variable="IMGFLOW_LOCAL_THROTTLE_TIME_SCALE"),
        LocalCloud() as running,
    ):
        yield running


def deployed(cloud: LocalCloud) -> LocalCloud:
    """``cloud``, deployed again if something run before in this process reset moto (``mock_aws`` does)."""
    try:
        cloud.client("s3").head_bucket(Bucket=cloud.settings.uploads_bucket)
    except Exception:  # moto's backends were reset under the running server: deploy the stack again
        cloud._configure_moto()
        cloud.deploy()
    return cloud


@contextmanager
def own_table(cloud: LocalCloud, prefix: str) -> Iterator[ImageRepository]:
    """A records table of its own on the local stack, deleted after (``mock_aws`` instead would reset the
    stack every other test of this process uses: under ``-n 2`` a later test of the worker finds no table)."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    client = cloud.client("dynamodb")
    client.create_table(TableName=name, **TABLE)
    try:
        yield ImageRepository(name, client=client)
    finally:
        client.delete_table(TableName=name)


def put_upload(cloud: LocalCloud, data: bytes, *, owner: str = "tester", image_id: str | None = None) -> str:
    """Write an original where the API would have it uploaded; S3's event starts the workflow."""
    image_id = image_id or keys.new_image_id()
    cloud.client("s3").put_object(
        Bucket=cloud.settings.uploads_bucket, Key=keys.upload_key(owner, image_id), Body=data
    )
    return image_id


def executions_for(cloud: LocalCloud, image_id: str) -> list[dict[str, Any]]:
    """Every execution whose input is an event about this image (newest first)."""
    sfn = cloud.client("stepfunctions")
    found = []
    for summary in cloud.executions():
        described = sfn.describe_execution(executionArn=summary["executionArn"])
        if image_id in json.loads(described["input"])["detail"]["object"]["key"]:
            found.append(described)
    return found


def history(cloud: LocalCloud, arn: str) -> list[dict[str, Any]]:
    return list(cloud.client("stepfunctions").get_execution_history(executionArn=arn)["events"])


def entered_states(events: list[dict[str, Any]]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def failed_tasks(events: list[dict[str, Any]]) -> list[str]:
    return [e["taskFailedEventDetails"]["error"] for e in events if e["type"] == "TaskFailed"]


def refused_as_deployed(cloud: LocalCloud) -> dict[str, list[tuple[str, str]]]:
    """Per role, the calls its deployed policies refused (those refused while a test restricted it aside)."""
    if cloud.iam is None or cloud.iam.enforcer is None:
        return {}
    return cloud.iam.enforcer.usage.refused_as_deployed()
