"""The one waiter of the tests (``until``) and what they wait for: an execution, a record, an image."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import requests

from imgflow.records import ImageRepository
from imgflow.records.table import FINAL_STATUSES
from imgflow_tools.local.cloud import LocalCloud

T = TypeVar("T")
#: What the API reports as an image's final status.
FINAL_IMAGE_STATUSES = ("PROCESSED", "REJECTED", "FAILED")


class Clients(Protocol):
    """A stack's boto3 clients: the local one in-process (``LocalCloud``) or a served one."""

    def client(self, service: str) -> Any: ...


def until(
    probe: Callable[[], T | None],
    *,
    timeout: float = 60,
    interval: float = 0.05,
    what: str | Callable[[], str] = "the condition",
) -> T:
    """``probe()``'s first result that is not None; TimeoutError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while (found := probe()) is None:
        if time.monotonic() >= deadline:
            raise TimeoutError(f"after {timeout}s: {what() if callable(what) else what}")
        time.sleep(interval)
    return found


def wait_final(stack: Clients, arn: str, *, timeout: float = 60) -> dict[str, Any]:
    """The execution ``arn`` described once it is no longer RUNNING."""
    sfn = stack.client("stepfunctions")

    def ended() -> dict[str, Any] | None:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        return described if described["status"] != "RUNNING" else None

    return until(ended, timeout=timeout, what=f"{arn} still RUNNING")


def wait_record(
    cloud: LocalCloud, image_id: str, *, not_by: str | None = None, timeout: float = 60
) -> dict[str, Any]:
    """The image's final record, once the execution that wrote it (not ``not_by``) has ended."""
    repo = ImageRepository(cloud.settings.table_name)
    sfn = cloud.client("stepfunctions")

    def final() -> dict[str, Any] | None:
        record = repo.get(image_id)
        # moto applies an update attribute by attribute: a concurrent read can see a half-written item.
        if not record or record.get("status") not in FINAL_STATUSES or record.get("execution_arn") == not_by:
            return None
        ended = sfn.describe_execution(executionArn=record["execution_arn"])["status"] != "RUNNING"
        return record if ended else None

    return until(final, timeout=timeout, what=lambda: f"no final record for {image_id}: {repo.get(image_id)}")


def wait_image(
    session: requests.Session, url: str, *, timeout: float = 60, interval: float = 0.1
) -> dict[str, Any]:
    """The JSON body of ``url`` (``GET /images/{id}`` or its ``/status``) once the image's status is final."""

    def final() -> dict[str, Any] | None:
        body = session.get(url, timeout=10).json()
        return dict(body) if body["status"] in FINAL_IMAGE_STATUSES else None

    return until(final, timeout=timeout, interval=interval, what=f"{url} not final")
