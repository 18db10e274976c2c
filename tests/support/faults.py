"""The one fault hook of the tests: failures raised at the AWS boundary of the task code.

``injecting()`` yields ``inject(service, operation, hook)``: the hook gets the ``params`` (Bucket, Key, ...)
of each such call the task code makes through an ``imgflow.aws`` client; raising fails the call before it
is sent. ``inject`` returns a function that removes the hook early; every hook is removed on exit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

from imgflow import aws

Hook = Callable[..., Any]
Inject = Callable[[str, str, Hook], Callable[[], None]]


@contextmanager
def injecting() -> Iterator[Inject]:
    registered: list[tuple[Any, str, Hook]] = []

    def inject(service: str, operation: str, hook: Hook) -> Callable[[], None]:
        client = aws.client(service)
        event = f"before-parameter-build.{client.meta.service_model.service_id.hyphenize()}.{operation}"
        client.meta.events.register(event, hook)
        registered.append((client, event, hook))
        return lambda: client.meta.events.unregister(event, hook)

    try:
        yield inject
    finally:
        for client, event, hook in registered:
            client.meta.events.unregister(event, hook)


def client_error(code: str, status: int, operation: str = "UpdateItem") -> ClientError:
    """The error botocore raises for an AWS error response ``code`` with HTTP ``status``."""
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
    """Whether a call's ``params`` address ``image_id`` (a DynamoDB key or an S3 key)."""
    key = params.get("Key", {})
    return image_id in str(key.get("pk", {}).get("S", "")) or image_id in str(params.get("Key", ""))
