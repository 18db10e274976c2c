"""boto3 clients, created once per process and shared (clients are thread-safe).

In AWS they use the Lambda's role; locally ``AWS_ENDPOINT_URL`` points boto3 at the moto server.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Hashable, Iterator
from typing import Any, Generic, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError, IncompleteReadError

from imgflow.errors import SourceMissing, StorageThrottled, TransientError

# Throttling and server-side codes of S3 and DynamoDB that are worth a retry at the workflow level
# (boto3 has already retried a few times with its own backoff by the time we see them).
THROTTLED_CODES = frozenset(
    {
        "SlowDown",  # S3
        "503 SlowDown",
        "Throttling",
        "ThrottlingException",  # DynamoDB control plane, many services
        "ProvisionedThroughputExceededException",  # DynamoDB
        "RequestLimitExceeded",  # DynamoDB account limit
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
    }
)
#: Server-side and in-flight failures; any HTTP status >= 500 counts too, whatever its code.
TRANSIENT_CODES = frozenset(
    {
        "InternalError",  # S3
        "InternalServerError",  # DynamoDB
        "ServiceUnavailable",
        "RequestTimeout",  # S3: the upload of the body stalled
        "RequestTimeoutException",
        "TransactionConflictException",  # DynamoDB: a concurrent transaction on the item
        "PriorRequestNotComplete",
    }
)
MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})

T = TypeVar("T")
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30)


class once(Generic[T]):
    """``functools.cache`` that builds each value once even when threads ask at the same moment.

    Creating a boto3 client costs ~50 ms of CPU; locally many in-process handlers start together.
    """

    def __init__(self, factory: Callable[..., T]) -> None:
        self._factory = factory
        self._values: dict[tuple[Hashable, ...], T] = {}
        self._lock = threading.Lock()
        functools.update_wrapper(self, factory)

    def __call__(self, *args: Hashable) -> T:
        with self._lock:
            if args not in self._values:
                self._values[args] = self._factory(*args)
            return self._values[args]

    def cache_clear(self) -> None:
        with self._lock:
            self._values.clear()


@once
def client(service: str) -> Any:
    """The shared boto3 client for ``service`` (call ``client.cache_clear()`` after changing endpoints)."""
    return boto3.session.Session().client(service, config=_CONFIG)


@once
def _sigv4_s3(endpoint: str | None) -> Any:
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, config=Config(signature_version="s3v4")
    )


def presign_client() -> Any:
    """The S3 client that presigns POSTs and GETs: always SigV4 (botocore may still pick SigV2 for these)."""
    return _sigv4_s3(os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"))


@contextlib.contextmanager
def translated_errors() -> Iterator[None]:
    """Turn boto3's errors into the named errors the workflow retries or records."""
    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in THROTTLED_CODES:
            raise StorageThrottled(f"{code}: {exc}") from exc
        if code in TRANSIENT_CODES or status >= 500:
            raise TransientError(f"{code or status}: {exc}") from exc
        if code in MISSING_CODES:
            raise SourceMissing(f"the object is gone ({code})") from exc
        raise
    except (HTTPClientError, ConnectionError, IncompleteReadError) as exc:
        # Timeouts, resets and bodies cut short: botocore retried what it could; the workflow retries more.
        raise TransientError(f"{type(exc).__name__}: {exc}") from exc
