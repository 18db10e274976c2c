"""Failures at the AWS boundary of the task code, for the reliability tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from imgflow import aws

Inject = Callable[[str, str, Callable[..., Any]], None]


@pytest.fixture
def aws_faults() -> Iterator[Inject]:
    """``inject("dynamodb", "UpdateItem", hook)``: the hook gets the ``params`` of each call the task code
    makes through ``imgflow.aws.client``; raising fails the call before it is sent."""
    registered: list[tuple[Any, str, Callable[..., Any]]] = []

    def inject(service: str, operation: str, hook: Callable[..., Any]) -> None:
        client = aws.client(service)
        event = f"before-parameter-build.{client.meta.service_model.service_id.hyphenize()}.{operation}"
        client.meta.events.register(event, hook)
        registered.append((client, event, hook))

    yield inject
    for client, event, hook in registered:
        client.meta.events.unregister(event, hook)


def client_error(code: str, status: int, operation: str = "UpdateItem") -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"injected {code}"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        operation,
    )


def written_status(params: dict[str, Any]) -> str | None:
    """The ``status`` an UpdateItem of ``ImageRepository`` writes (claim: PROCESSING; finish: the verdict)."""
    names = params.get("ExpressionAttributeNames", {})
    values = params.get("ExpressionAttributeValues", {})
    for alias, name in names.items():
        if name == "status":
            value = values.get(":" + alias.lstrip("#"))
            if value:
                return str(value["S"])
    return None


def about(params: dict[str, Any], image_id: str) -> bool:
    key = params.get("Key", {})
    return image_id in str(key.get("pk", {}).get("S", "")) or image_id in str(params.get("Key", ""))
