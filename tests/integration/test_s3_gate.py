"""The local S3 endpoint of ``imgflow serve`` as an attacker sees it: raw HTTP, every addressing style.

Each case sends a request S3 would refuse and checks that (a) the answer is an S3 XML error with S3's
status and code and (b) nothing was stored. ``http.client`` is used so that the Host header, the request
target and the body are exactly what is written here (no client-side normalisation).
"""

from __future__ import annotations

import http.client
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from imgflow import keys
from tests.support.images import jpeg_bytes
from tests.support.served import Stack

BUCKET = "imgflow-uploads"
BOUNDARY = "imgflowboundary"


def form(
    fields: dict[str, str],
    data: bytes = b"<html>pwned</html>",
    *,
    filename: str = "x.jpg",
    content_type: str = "text/html",
) -> bytes:
    """A multipart/form-data body: ``fields``, then the file part (by default HTML posing as a JPEG)."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def raw(
    stack: Stack, method: str, target: str, *, host: str | None = None, body: bytes = b"", **headers: str
) -> tuple[int, dict[str, str], str]:
    """Send exactly this request line, Host and body; return (status, headers, body text)."""
    port = urlsplit(stack.endpoint).port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host or f"127.0.0.1:{port}")
        for name, value in headers.items():
            conn.putheader(name.replace("_", "-"), value)
        if body or method in ("POST", "PUT"):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
    finally:
        conn.close()


def stored(stack: Stack, key: str) -> bool:
    s3 = stack.client("s3")
    found = []
    for bucket in (BUCKET, "imgflow-renditions"):
        found += [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return any(key in k for k in found)


def code_of(text: str) -> str:
    assert text.startswith("<?xml") and "<Error>" in text, text[:300]
    return text.split("<Code>")[1].split("</Code>")[0]


def attacker_key() -> str:
    return f"uploads/mallory/{keys.new_image_id()}"


MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
FORGED_AUTH = (
    "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host, Signature=" + "0" * 64
)


def _form_cases(port: str = "{port}") -> list[tuple[str, str, str | None, dict[str, str]]]:
    """(id, request target, Host, extra headers) of unsigned form POSTs aimed at the uploads bucket."""
    hosts = [
        f"{BUCKET}.localhost:{port}",
        f"{BUCKET}.localhost",
        f"{BUCKET.upper()}.localhost:{port}",
        f"{BUCKET}.s3.localhost:{port}",
        f"{BUCKET}.s3.amazonaws.com",
        f"{BUCKET}.s3.us-east-1.amazonaws.com",
        f"{BUCKET}.s3-us-east-1.amazonaws.com",
        f"{BUCKET}.s3.dualstack.us-east-1.amazonaws.com",
        f"{BUCKET}.127.0.0.1.nip.io:{port}",
        f"{BUCKET}.example.com",
        f"www.{BUCKET}.example.com",
    ]
    cases: list[tuple[str, str, str | None, dict[str, str]]] = []
    for host in hosts:
        for target in ("/", "", "/?x-id=PutObject", "//"):
            cases.append((f"vhost {host} {target!r}", target or "/", host, {}))
    for host in (None, f"s3.localhost:{port}", "s3.amazonaws.com", "s3.us-east-1.amazonaws.com", "localhost"):
        for target in (
            f"/{BUCKET}",
            f"/{BUCKET}/",
            f"/{BUCKET}?uploads",
            f"/{BUCKET}/?policy",
            f"//{BUCKET}",
            f"/{BUCKET}//",
            "/imgflow%2Duploads",
            f"/{BUCKET}/.",
            f"/./{BUCKET}",
            f"/{BUCKET}%0A",
            f"http://127.0.0.1:{port}/{BUCKET}",
        ):
            cases.append((f"path {host} {target!r}", target, host, {}))
    for content_type in (
        f"Multipart/Form-Data; boundary={BOUNDARY}",
        f"MULTIPART/FORM-DATA; boundary={BOUNDARY}",
        f" multipart/form-data; boundary={BOUNDARY}",
        f"multipart/form-data ; boundary={BOUNDARY}",
        f"multipart/mixed; boundary={BOUNDARY}",
    ):
        cases.append((f"type {content_type!r}", f"/{BUCKET}", None, {"Content-Type": content_type}))
    cases.append(("forged authorization", f"/{BUCKET}", None, {"Authorization": FORGED_AUTH}))
    cases.append(
        ("forged authorization vhost", "/", f"{BUCKET}.localhost:{port}", {"Authorization": FORGED_AUTH})
    )
    cases.append(("sigv2 authorization", f"/{BUCKET}", None, {"Authorization": "AWS testing:AAAA"}))
    return cases


@pytest.mark.parametrize(
    ("case", "target", "host", "headers"),
    [pytest.param(*c, id=c[0]) for c in _form_cases()],
)
def test_unsigned_form_post_is_refused_in_every_addressing_style(
    stack: Stack, case: str, target: str, host: str | None, headers: dict[str, str]
) -> None:
    port = str(urlsplit(stack.endpoint).port)
    target = target.replace("{port}", port)
    host = host.replace("{port}", port) if host else None
    key = attacker_key()
    headers = {"Content-Type": MULTIPART, **headers}
    status, _, text = raw(
        stack, "POST", target, host=host, body=form({"key": key, "Content-Type": "text/html"}), **headers
    )
    assert not stored(stack, key), f"{case}: stored without a policy ({status})"
    assert 400 <= status < 500, (status, text[:300])
    assert code_of(text)


@pytest.mark.parametrize(
    ("case", "method", "target", "content_type", "body"),
    [
        ("urlencoded form", "POST", f"/{BUCKET}", "application/x-www-form-urlencoded", b"key={key}&file=x"),
        ("key in the query", "POST", f"/{BUCKET}?key={{key}}", "text/plain", b"pwned"),
        ("key in the query, no type", "POST", f"/{BUCKET}?key={{key}}", "", b"pwned"),
        ("anonymous PUT", "PUT", f"/{BUCKET}/{{key}}", "text/html", b"pwned"),
        ("anonymous PUT vhost", "PUT", "/{key}", "text/html", b"pwned"),
        ("anonymous copy", "PUT", f"/{BUCKET}/{{key}}", "", b""),
    ],
)
def test_other_unsigned_writes_are_refused(
    stack: Stack, case: str, method: str, target: str, content_type: str, body: bytes
) -> None:
    key = attacker_key()
    port = urlsplit(stack.endpoint).port
    host = f"{BUCKET}.localhost:{port}" if "vhost" in case else None
    headers = {"Content-Type": content_type} if content_type else {}
    if case == "anonymous copy":
        headers["x-amz-copy-source"] = f"/{BUCKET}/whatever"
    status, _, text = raw(
        stack,
        method,
        target.replace("{key}", key),
        host=host,
        body=body.replace(b"{key}", key.encode()),
        **headers,
    )
    assert not stored(stack, key), f"{case}: stored ({status})"
    assert 400 <= status < 500, (status, text[:300])
    assert code_of(text) in ("AccessDenied", "PreconditionFailed", "MethodNotAllowed")


def test_anonymous_reads_and_deletes_are_refused(stack: Stack) -> None:
    s3 = stack.client("s3")
    key = attacker_key()
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"secret")
    for method, target in (
        ("GET", f"/{BUCKET}/{key}"),
        ("GET", f"/{BUCKET}"),
        ("GET", "/"),
        ("HEAD", f"/{BUCKET}/{key}"),
        ("DELETE", f"/{BUCKET}/{key}"),
    ):
        status, _, text = raw(stack, method, target)
        assert status == 403, (method, target, status, text[:200])
        if method != "HEAD":
            assert code_of(text) == "AccessDenied"
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"secret"


def _ticket(stack: Stack) -> dict[str, Any]:
    return stack.ticket(stack.session("alice"), "a.jpg", 1000)


def test_a_valid_presigned_post_works_in_every_addressing_style(stack: Stack) -> None:
    """The gate refuses by what the request is, not by how it is addressed: valid uploads still pass."""
    port = urlsplit(stack.endpoint).port
    for target, host in (
        (f"/{BUCKET}", None),
        (f"/{BUCKET}/", None),
        ("/", f"{BUCKET}.localhost:{port}"),
        ("/", f"{BUCKET}.s3.localhost:{port}"),
    ):
        ticket = _ticket(stack)
        fields = ticket["upload"]["fields"]
        body = form(fields, jpeg_bytes((32, 32)), filename="a.jpg", content_type="image/jpeg")
        status, _, text = raw(stack, "POST", target, host=host, body=body, Content_Type=MULTIPART)
        assert status == 204, (target, host, status, text[:300])
        assert stored(stack, fields["key"])
        # The same form sent to the other bucket is refused by the policy's bucket condition.
        other = "/imgflow-renditions" if host is None else "/"
        other_host = None if host is None else f"imgflow-renditions.localhost:{port}"
        status, _, text = raw(stack, "POST", other, host=other_host, body=body, Content_Type=MULTIPART)
        assert status == 403 and code_of(text) == "AccessDenied", (status, text[:300])


# -- malformed policies and misplaced POSTs are S3 errors, not 500s ----------------------------------------
def _signed_post(stack: Stack, conditions: list[Any]) -> dict[str, Any]:
    key = f"uploads/alice/{keys.new_image_id()}"
    return dict(stack.client("s3").generate_presigned_post(BUCKET, key, Conditions=conditions, ExpiresIn=300))


@pytest.mark.parametrize(
    "condition",
    [
        ["content-length-range", "a", "b"],
        ["content-length-range", 0, "1e999"],
        ["content-length-range", None, 10],
        ["content-length-range", 0, "9" * 5000],
        ["content-length-range", [1], {}],
        ["eq", "$key"],
        ["starts-with", {"a": 1}, "x"],
        "just text",
        {"key": ["not", "a", "string"]},
    ],
    ids=str,
)
def test_malformed_policy_conditions_are_s3_errors(stack: Stack, condition: Any) -> None:
    post = _signed_post(stack, [condition])
    response = requests.post(post["url"], data=post["fields"], files={"file": ("a.jpg", b"x")}, timeout=10)
    assert response.status_code in (400, 403), (response.status_code, response.text[:300])
    assert code_of(response.text) in ("InvalidPolicyDocument", "AccessDenied")
    assert not stored(stack, post["fields"]["key"])


@pytest.mark.parametrize("target", ["/{bucket}/{key}", "/{bucket}/{key}?uploads", "/{bucket}/a/b/"])
def test_form_post_to_an_object_path_is_method_not_allowed(stack: Stack, target: str) -> None:
    post = _signed_post(stack, [])
    url = stack.endpoint + target.format(bucket=BUCKET, key=post["fields"]["key"])
    response = requests.post(url, data=post["fields"], files={"file": ("a.jpg", b"x")}, timeout=10)
    assert response.status_code == 405, (response.status_code, response.text[:300])
    assert code_of(response.text) == "MethodNotAllowed"
    assert not stored(stack, post["fields"]["key"])


def test_signed_multipart_upload_still_works(stack: Stack) -> None:
    """boto3's own POSTs to object paths (create/complete multipart upload) are not form uploads."""
    s3 = stack.client("s3")
    key = f"uploads/alice/{uuid.uuid4().hex}"
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key)
    part = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload["UploadId"], PartNumber=1, Body=b"x" * 10)
    s3.complete_multipart_upload(
        Bucket=BUCKET,
        Key=key,
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
    )
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"x" * 10
    s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": key}]})
    assert not stored(stack, key)


# -- CORS ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("target", [f"/{BUCKET}", f"/{BUCKET}/", "/"])
def test_cors_preflight_answers_what_a_browser_needs(stack: Stack, target: str) -> None:
    """A page on the API's origin uploads straight to the endpoint: S3's preflight answer, every header."""
    port = urlsplit(stack.endpoint).port
    host = f"{BUCKET}.localhost:{port}" if target == "/" else None
    origin = stack.api
    status, headers, _ = raw(
        stack,
        "OPTIONS",
        target,
        host=host,
        Origin=origin,
        Access_Control_Request_Method="POST",
        Access_Control_Request_Headers="content-type, x-requested-with",
    )
    assert status == 200
    assert headers["access-control-allow-origin"] == origin
    assert "POST" in [m.strip() for m in headers["access-control-allow-methods"].split(",")]
    allowed = {h.strip().lower() for h in headers["access-control-allow-headers"].split(",")}
    assert {"content-type", "x-requested-with"} <= allowed
    assert int(headers["access-control-max-age"]) > 0
    assert "origin" in headers.get("vary", "").lower()


def test_cors_on_the_upload_response(stack: Stack) -> None:
    ticket = _ticket(stack)
    response = requests.post(
        ticket["upload"]["url"],
        data=ticket["upload"]["fields"],
        files={"file": ("a.jpg", jpeg_bytes((32, 32)), "image/jpeg")},
        headers={"Origin": stack.api},
        timeout=10,
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == stack.api
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]
    refused = requests.post(
        ticket["upload"]["url"],
        data={},
        files={"file": ("a.jpg", b"x")},
        headers={"Origin": stack.api},
        timeout=10,
    )
    assert refused.status_code == 403  # the page can read S3's refusal too
    assert refused.headers["Access-Control-Allow-Origin"] == stack.api
