"""A mistake, answered in one line: what went wrong and what to do (``imgflow_tools.cli.main`` prints it).

``CommandError`` is what commands and the code below them raise for anything an operator can fix: bad
arguments, a stack that does not answer or cannot be found, no region or credentials. ``explain`` turns
botocore's and requests' own errors of that kind (and a connection lost mid-run) into one.
"""

from __future__ import annotations

import errno
from typing import Any

from botocore import exceptions as boto

#: The hint of a local endpoint that does not answer (or stopped answering).
SERVE_HINT = "start `imgflow serve` or pass --endpoint"


class CommandError(Exception):
    """A mistake the operator can fix: one line, ``message: hint``, and the exit status (2 by default)."""

    def __init__(self, message: str, hint: str = "", *, status: int = 2) -> None:
        super().__init__(message)
        self.message, self.hint, self.status = message, hint, status

    def line(self) -> str:
        """The message and its hint on one line."""
        text = f"{self.message}: {self.hint}" if self.hint else self.message
        return " ".join(text.split())


def explain(exc: BaseException, endpoint: str | None = None) -> CommandError | None:
    """The one-line ``CommandError`` for an error of the AWS or HTTP client, or None when it is not one.

    ``endpoint``: the local endpoint the command was given, if any (named in the message). An error raised
    from one of those (``imgflow.aws`` makes a lost connection a ``TransientError``) is explained by it.
    """
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            break
        if (known := _explain(seen, endpoint)) is not None:
            return known
        seen = seen.__cause__
    return None


def _explain(exc: BaseException, endpoint: str | None) -> CommandError | None:
    if isinstance(exc, CommandError):
        return exc
    if isinstance(exc, boto.NoRegionError):
        return CommandError(
            "no AWS region", "pass --region or set AWS_DEFAULT_REGION, or pass --endpoint for a local stack"
        )
    if isinstance(exc, (boto.NoCredentialsError, boto.PartialCredentialsError)):
        return CommandError(
            "no AWS credentials",
            "configure them (AWS_PROFILE, aws configure), or pass --endpoint for a local stack",
        )
    url = _url(exc)
    if isinstance(exc, boto.EndpointConnectionError) and not (endpoint or _is_local(url)):
        return CommandError(f"cannot reach {url}", "check the network and --region")
    # A local stack was found when the command began (``stack.local``): now it is gone.
    if isinstance(exc, (boto.ConnectionError, boto.HTTPClientError)) or _is_requests_connection_error(exc):
        return CommandError(
            f"lost the connection to {endpoint or url or 'the stack'}", "is `imgflow serve` still running?"
        )
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return CommandError(
            f"a port is in use ({exc.strerror})", "pass another --port, or 0 for any free one"
        )
    if isinstance(exc, boto.ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Error"), error.get("Message", "")
        return CommandError(f"AWS refused {exc.operation_name}: {code}: {message}".rstrip(": "))
    return None


def _url(exc: BaseException) -> str:
    kwargs: dict[str, Any] = getattr(exc, "kwargs", {}) or {}
    url = kwargs.get("endpoint_url") or ""
    request = getattr(exc, "request", None)
    if not url and request is not None:
        url = getattr(request, "url", "") or ""
    return str(url)


def _is_local(url: str) -> bool:
    return "://127." in url or "://localhost" in url


def _is_requests_connection_error(exc: BaseException) -> bool:
    try:
        import requests
    except ImportError:  # pragma: no cover - requests is a dependency of the tools
        return False
    return isinstance(exc, (requests.ConnectionError, requests.Timeout))
