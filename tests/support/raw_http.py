"""Raw HTTP for tests that must control every byte: request target, ``Host``, headers, body, chunking.

``http.client`` is used so that nothing is normalised on the client side (no Host, no Accept-Encoding, no
Content-Length unless given).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

BOUNDARY = "imgflowboundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        assert self.headers.get("content-type", "").startswith("application/json"), (self.headers, self.text)
        return json.loads(self.body)

    def s3_code(self) -> str:
        """The ``<Code>`` of an S3 XML error (fails on anything else)."""
        assert self.text.startswith("<?xml") and "<Error>" in self.text, (self.status, self.text[:300])
        return self.text.split("<Code>")[1].split("</Code>")[0]


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port


def send(
    url: str,
    method: str,
    target: str,
    *,
    host: str | None = None,
    body: bytes | Iterable[bytes] = b"",
    headers: dict[str, str] | None = None,
    chunked: bool = False,
    timeout: float = 60,
) -> Reply:
    """Send exactly this request line, Host (default: the listener's address) and body to ``url``'s listener.

    ``chunked``: the body (bytes or an iterable of chunks) goes with ``Transfer-Encoding: chunked`` and no
    ``Content-Length``; otherwise a bytes body gets its ``Content-Length`` (also 0 for POST and PUT).
    """
    port = port_of(url)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host if host is not None else f"127.0.0.1:{port}")
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if chunked:
            conn.putheader("Transfer-Encoding", "chunked")
            chunks = [body] if isinstance(body, bytes) else body
            conn.endheaders(iter(chunks), encode_chunked=True)
        else:
            assert isinstance(body, bytes)
            if body or method in ("POST", "PUT"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
        response = conn.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


def multipart(parts: Iterable[tuple[str, bytes | str, str | None]]) -> bytes:
    """A multipart/form-data body (``MULTIPART``) of ``(name, value, filename or None)`` parts, in order."""
    out = []
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
        if filename is not None:
            head += "Content-Type: application/octet-stream\r\n"
        data = value.encode() if isinstance(value, str) else value
        out.append(head.encode() + b"\r\n" + data + b"\r\n")
    return b"".join(out) + f"--{BOUNDARY}--\r\n".encode()


def post_upload(
    endpoint: str, bucket: str, fields: dict[str, str], data: bytes, *, origin: str, site: str
) -> Reply:
    """POST ``data`` with a ticket's form ``fields`` to ``bucket``, as a page on ``origin`` sends it
    (``site``: its ``Sec-Fetch-Site``)."""
    body = multipart([*((k, v, None) for k, v in fields.items()), ("file", data, "a.jpg")])
    headers = {"Origin": origin, "Content-Type": MULTIPART, "Sec-Fetch-Site": site}
    return send(endpoint, "POST", f"/{bucket}", body=body, headers=headers)
