"""Who may drive the local listeners: the Host they are addressed by and the web origins allowed to call them.

Both listeners of ``imgflow serve`` (the API with its page, the local AWS endpoint) sit behind ``guard``:

- ``Host`` must name the listener itself: ``127.0.0.1``, ``localhost`` or ``[::1]`` with the port it
  listens on (``SERVER_PORT``), or, on the AWS endpoint, a bucket subdomain of ``localhost`` (virtual-host S3
  addressing). Any other name is a DNS-rebinding attempt (a page of ``evil.example`` whose name now resolves
  to 127.0.0.1 is same-origin with itself, never with these names).
- A request carrying an ``Origin`` must come from an allowed origin: the page ``imgflow serve`` serves (its
  loopback names) plus the origins the user configures (``--allow-origin``, ``IMGFLOW_ALLOWED_ORIGINS``).
- Without an ``Origin``, ``Sec-Fetch-Site: cross-site`` is refused (a cross-site ``<img>``, ``<form>`` or
  ``no-cors`` fetch), except, where allowed, a top-level GET navigation (a link to the page).

A refusal is a 403 rendered by the listener's ``Refusal`` before anything behind the guard runs, so
no-preflight requests (``text/plain`` or form POSTs to ``/_imgflow/faults`` or ``/moto-api/reset``) change
nothing.
``Access-Control-Allow-Origin`` is set behind the guard, from the allow-list, never from the request.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
#: The names of the loopback address a listener is reached by (it listens on 127.0.0.1).
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
#: User-configured origins, separated by commas or blanks (``--allow-origin`` adds to them).
ORIGINS_ENV = "IMGFLOW_ALLOWED_ORIGINS"
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(value: str) -> str:
    """``scheme://host[:port]`` as a browser serializes it (lower case, no default port); ValueError if the
    value is not one origin (a path, a wildcard, ``null``, credentials ...)."""
    text = value.strip()
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not an origin (bad port): {value!r}") from exc
    if (
        parts.scheme not in _DEFAULT_PORTS
        or not parts.hostname
        or "*" in text
        or parts.username is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise ValueError(f"not an origin (scheme://host[:port]): {value!r}")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def page_origins(port: int) -> frozenset[str]:
    """The origins of the page served on ``port`` (each loopback name it can be opened by)."""
    return frozenset(f"http://{name}:{port}" for name in LOOPBACK_NAMES)


def configured_origins(values: Iterable[str] = (), env: dict[str, str] | None = None) -> frozenset[str]:
    """The user's origins: ``values`` plus those of ``IMGFLOW_ALLOWED_ORIGINS``; ValueError on a bad one."""
    listed = (os.environ if env is None else env).get(ORIGINS_ENV, "")
    return frozenset(normalize_origin(v) for v in [*values, *re.split(r"[,\s]+", listed)] if v.strip())


def split_host(host: str) -> tuple[str, str]:
    """(name, port) of a ``Host`` value, lower-cased; ("", "") if it has no port."""
    host = host.strip().lower()
    if host.startswith("["):
        name, _, rest = host.partition("]")
        return (f"{name}]", rest[1:]) if rest.startswith(":") else ("", "")
    name, sep, port = host.rpartition(":")
    return (name, port) if sep else ("", "")


@dataclass(frozen=True)
class OriginPolicy:
    """What ``guard`` lets through to one listener."""

    #: Allowed web origins (normalized).
    origins: frozenset[str]
    #: Host may be ``<bucket>.localhost:<port>`` (the AWS endpoint's virtual-host S3 addressing).
    bucket_subdomains: bool = False
    #: A cross-site top-level GET navigation (a link to the page) may pass.
    navigations: bool = False

    def host_allowed(self, host: str, port: str) -> bool:
        name, given = split_host(host)
        if not port or given != port:
            return False
        if name in LOOPBACK_NAMES:
            return True
        if not (self.bucket_subdomains and name.endswith(".localhost")):
            return False
        return all(_LABEL.match(label) for label in name[: -len(".localhost")].split("."))

    def origin_allowed(self, origin: str) -> bool:
        try:
            return normalize_origin(origin) in self.origins
        except ValueError:
            return False

    def refusal(self, environ: dict[str, Any]) -> str | None:
        """Why the request is refused, or None."""
        if not self.host_allowed(str(environ.get("HTTP_HOST", "")), str(environ.get("SERVER_PORT", ""))):
            return "the Host header does not name this server"
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None:
            return None if self.origin_allowed(origin) else "requests from this origin are not allowed"
        if str(environ.get("HTTP_SEC_FETCH_SITE", "")).strip().lower() != "cross-site":
            return None
        navigation = str(
            environ.get("HTTP_SEC_FETCH_MODE", "")
        ).strip().lower() == "navigate" and environ.get("REQUEST_METHOD") in ("GET", "HEAD")
        return None if self.navigations and navigation else "cross-site requests are not allowed"

    def allowed_origin(self, environ: dict[str, Any]) -> str | None:
        """The allow-list's entry for the request's ``Origin`` (for ``Access-Control-Allow-Origin``)."""
        origin = environ.get("HTTP_ORIGIN")
        if origin is None:
            return None
        try:
            normalized = normalize_origin(origin)
        except ValueError:
            return None
        return next((o for o in self.origins if o == normalized), None)


#: (environ, reason) -> (content type, body) of the 403.
Refusal = Callable[[dict[str, Any], str], tuple[str, bytes]]


def json_refusal(environ: dict[str, Any], reason: str) -> tuple[str, bytes]:
    """The API's error shape: ``{"message": ...}``."""
    return "application/json", json.dumps({"message": f"Forbidden: {reason}"}).encode()


def aws_refusal(environ: dict[str, Any], reason: str) -> tuple[str, bytes]:
    """As the local AWS endpoint answers: JSON for the JSON protocols (DynamoDB, Step Functions, ...) and
    imgflow's and moto's own routes, S3's XML error otherwise."""
    path = str(environ.get("PATH_INFO", ""))
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if path.startswith(("/_imgflow/", "/moto-api")):
        return json_refusal(environ, reason)
    if content_type.startswith("application/x-amz-json") or environ.get("HTTP_X_AMZ_TARGET"):
        body = {"__type": "AccessDeniedException", "message": f"Forbidden: {reason}"}
        return "application/x-amz-json-1.0", json.dumps(body).encode()
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessForbidden</Code>'
        f"<Message>{escape(reason)}</Message><RequestId>local</RequestId></Error>"
    )
    return "application/xml", xml.encode()


def guard(app: WsgiApp, policy: OriginPolicy, refusal: Refusal) -> WsgiApp:
    """WSGI middleware: a 403 from ``refusal`` for what ``policy`` refuses; ``app`` for the rest."""

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        reason = policy.refusal(environ)
        if reason is None:
            return app(environ, start_response)
        content_type, body = refusal(environ, reason)
        start_response(
            "403 Forbidden",
            [
                ("Content-Type", content_type),
                ("Content-Length", str(len(body))),
                ("Vary", "Origin"),
            ],
        )
        return [b""] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    return middleware
