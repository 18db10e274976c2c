"""boto3 clients, created once per process and shared (clients are thread-safe).

In AWS they use the Lambda's role; locally ``AWS_ENDPOINT_URL`` points boto3 at the moto server.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any, ParamSpec, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, EndpointConnectionError, ReadTimeoutError

from imgflow.errors import SourceMissing, StorageThrottled, TransientError

# Throttling and server-side codes of S3 and DynamoDB that are worth a retry at the workflow level
# (boto3 has already retried a few times with its own backoff by the time we see them).
_THROTTLED = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
}
_SERVER = {"InternalError", "InternalServerError", "ServiceUnavailable", "503", "500"}
_MISSING = {"NoSuchKey", "404", "NotFound"}

P = ParamSpec("P")
T = TypeVar("T")
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30)


_creating = threading.Lock()


def once(factory: Callable[P, T]) -> Callable[P, T]:
    """``functools.cache`` that builds each value once even when threads ask at the same moment.

    Creating a boto3 client costs ~50 ms of CPU; locally many in-process handlers start together.
    """
    cached = cache(factory)

    @functools.wraps(factory)
    def get(*args: P.args, **kwargs: P.kwargs) -> T:
        with _creating:
            return cached(*args, **kwargs)

    get.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return get


@once
def client(service: str) -> Any:
    """The shared boto3 client for ``service`` (call ``client.cache_clear()`` after changing endpoints)."""
    return boto3.session.Session().client(service, config=_CONFIG)


@contextlib.contextmanager
def translated_errors() -> Iterator[None]:
    """Turn boto3's errors into the named errors the workflow retries or records."""
    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _THROTTLED:
            raise StorageThrottled(f"{code}: {exc}") from exc
        if code in _SERVER:
            raise TransientError(f"{code}: {exc}") from exc
        if code in _MISSING:
            raise SourceMissing(f"the object is gone ({code})") from exc
        raise
    except (EndpointConnectionError, ConnectionError, ReadTimeoutError) as exc:
        raise TransientError(str(exc)) from exc
