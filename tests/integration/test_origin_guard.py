"""Only its own page can drive ``imgflow serve``: raw requests, as another web page would send them.

Both listeners (the API with its page, the local AWS endpoint) refuse a foreign ``Origin``, a
``Sec-Fetch-Site: cross-site`` request and a ``Host`` that is not their own (DNS rebinding) before anything
runs, the no-preflight requests a page can send without asking included; what the page itself sends still
works, and ``Access-Control-Allow-Origin`` never echoes a foreign origin.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.images import jpeg_bytes
from tests.support.raw_http import MULTIPART, Reply, multipart, port_of, post_upload, send
from tests.support.serve import operator_call
from tests.support.served import Stack

EVIL = "https://evil.example"
BUCKET = "imgflow-uploads"


def faults(stack: Stack) -> dict[str, Any]:
    """The fault switch, read as the operator (``/_imgflow`` needs the operator's signature)."""
    reply = operator_call("GET", f"{stack.endpoint}/_imgflow/faults", keys=stack.aws)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def assert_stack_unchanged(stack: Stack) -> None:
    """The fault switch is off, and moto still holds the deployed stack (no reset happened)."""
    assert faults(stack)["spec"] in ("", "off", "none"), faults(stack)
    s3 = stack.client("s3")
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert {BUCKET, "imgflow-renditions"} <= buckets
    assert stack.client("dynamodb").describe_table(TableName="imgflow-images")["Table"]["TableName"]
    session = stack.session("guard-check")
    assert session.get(f"{stack.api}/images", timeout=30).status_code == 200


def assert_refused(reply: Reply, *, xml: bool = False) -> None:
    assert reply.status == 403, (reply.status, reply.text[:300])
    assert "access-control-allow-origin" not in reply.headers, reply.headers
    if xml:
        assert reply.s3_code() == "AccessForbidden"
    else:
        assert "Forbidden" in reply.json()["message"]


@pytest.fixture(scope="module", autouse=True)
def faults_off(stack: Stack) -> None:
    assert faults(stack)["spec"] in ("", "off", "none")


# -- a foreign origin --------------------------------------------------------------------------------------
@pytest.mark.parametrize("listener", ["api", "endpoint"])
@pytest.mark.parametrize("origin", [EVIL, "null", "http://127.0.0.1:1", "http://localhost"])
def test_a_foreign_preflight_is_refused(stack: Stack, listener: str, origin: str) -> None:
    url = getattr(stack, listener)
    target = "/uploads" if listener == "api" else f"/{BUCKET}"
    reply = send(
        url,
        "OPTIONS",
        target,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert_refused(reply, xml=listener == "endpoint")


@pytest.mark.parametrize(
    ("target", "content_type", "body"),
    [
        ("/_imgflow/faults", "text/plain", json.dumps({"spec": "s3=1.0,lambda=1.0"}).encode()),
        ("/_imgflow/faults", "application/x-www-form-urlencoded", b"spec=s3%3D1.0"),
        ("/moto-api/reset", "text/plain", b""),
        ("/moto-api/reset", "application/x-www-form-urlencoded", b"a=b"),
        (f"/{BUCKET}", MULTIPART, multipart([("key", "uploads/x", None), ("file", b"x", "x.jpg")])),
    ],
    ids=["faults text", "faults form", "reset text", "reset form", "s3 form post"],
)
def test_no_preflight_posts_to_the_endpoint_from_a_foreign_origin_change_nothing(
    stack: Stack, target: str, content_type: str, body: bytes
) -> None:
    reply = send(
        stack.endpoint, "POST", target, body=body, headers={"Origin": EVIL, "Content-Type": content_type}
    )
    assert_refused(reply, xml=target.startswith(f"/{BUCKET}"))
    assert_stack_unchanged(stack)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_no_preflight_posts_to_the_api_from_a_foreign_origin_are_refused(
    stack: Stack, content_type: str
) -> None:
    """Even with a token (a page that obtained one cannot use it from elsewhere)."""
    body = json.dumps({"filename": "a.jpg", "content_type": "image/jpeg", "size": 10}).encode()
    headers = {"Origin": EVIL, "Content-Type": content_type, "Authorization": f"Bearer {stack.token('eve')}"}
    reply = send(stack.api, "POST", "/uploads", body=body, headers=headers)
    assert_refused(reply)
    listed = stack.session("eve").get(f"{stack.api}/images", timeout=30).json()["items"]
    assert listed == []
    assert_refused(send(stack.api, "POST", "/sign-in", body=b'{"code": "x"}', headers=headers))


def test_a_foreign_origin_cannot_read_the_endpoint(stack: Stack) -> None:
    """A DynamoDB Scan with (public) local credentials, from another page: refused as JSON."""
    headers = {
        "Origin": EVIL,
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "DynamoDB_20120810.Scan",
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host, Signature=" + "0" * 64,
    }
    reply = send(stack.endpoint, "POST", "/", body=b'{"TableName": "imgflow-images"}', headers=headers)
    assert reply.status == 403 and "access-control-allow-origin" not in reply.headers
    assert json.loads(reply.body)["__type"] == "AccessDeniedException"


def test_an_unsigned_json_call_is_refused_in_its_own_protocol(stack: Stack) -> None:
    """Past the origin guard and the S3 gate, an unsigned DynamoDB call gets DynamoDB's error, not XML."""
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.Scan"}
    reply = send(stack.endpoint, "POST", "/", body=b'{"TableName": "imgflow-images"}', headers=headers)
    assert reply.status == 400
    assert json.loads(reply.body)["__type"].endswith("MissingAuthenticationTokenException")


# -- Sec-Fetch-Site: cross-site -----------------------------------------------------------------------------
def test_cross_site_requests_without_an_origin_are_refused(stack: Stack) -> None:
    cross = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}
    assert_refused(
        send(stack.endpoint, "POST", "/_imgflow/faults", body=b'{"spec": "s3=1.0"}', headers=cross)
    )
    assert_refused(send(stack.endpoint, "POST", "/moto-api/reset", headers=cross))
    assert_refused(send(stack.endpoint, "GET", f"/{BUCKET}/uploads/x", headers=cross), xml=True)
    token = {"Authorization": f"Bearer {stack.token('eve')}"}
    assert_refused(send(stack.api, "GET", "/images", headers={**cross, **token}))
    assert_stack_unchanged(stack)
    # A link from another site to the page still opens it (a top-level navigation, nothing else).
    page = send(stack.api, "GET", "/", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"})
    assert page.status == 200
    # Same-site and same-origin requests of the page itself pass.
    same = {"Sec-Fetch-Site": "same-origin", **token}
    assert send(stack.api, "GET", "/images", headers=same).status == 200


# -- DNS rebinding ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("listener", ["api", "endpoint"])
@pytest.mark.parametrize(
    "host",
    [
        "evil.example:{port}",
        "evil.example",
        "127.0.0.1.nip.io:{port}",
        "localhost.evil.example:{port}",
        "127.0.0.1:1{port}",
        "127.0.0.1",
        "",
    ],
)
def test_a_rebinding_host_is_refused(stack: Stack, listener: str, host: str) -> None:
    url = getattr(stack, listener)
    host = host.replace("{port}", str(port_of(url)))
    reply = send(url, "POST", "/_imgflow/faults" if listener == "endpoint" else "/uploads", host=host)
    assert reply.status == 403, (host, reply.status, reply.text[:200])
    assert send(url, "GET", "/moto-api/data.json" if listener == "endpoint" else "/", host=host).status == 403
    assert_stack_unchanged(stack)


def test_a_bucket_subdomain_is_the_endpoint_but_not_the_api(stack: Stack) -> None:
    api, endpoint = port_of(stack.api), port_of(stack.endpoint)
    assert send(stack.endpoint, "GET", "/", host=f"{BUCKET}.localhost:{endpoint}").status == 403  # anonymous
    assert send(stack.endpoint, "GET", "/", host=f"{BUCKET}.evil.example:{endpoint}").status == 403
    assert send(stack.api, "GET", "/config.json", host=f"{BUCKET}.localhost:{api}").status == 403
    for name in ("127.0.0.1", "localhost", "[::1]", "LOCALHOST"):
        assert send(stack.api, "GET", "/config.json", host=f"{name}:{api}").status == 200, name


# -- the page's own origin -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["127.0.0.1", "localhost"])
def test_the_pages_own_origin_still_works(stack: Stack, name: str) -> None:
    origin = f"http://{name}:{port_of(stack.api)}"
    preflight = send(
        stack.api,
        "OPTIONS",
        "/uploads",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status == 204 and preflight.headers["access-control-allow-origin"] == origin
    session = stack.session("page")
    ticket = stack.ticket(session, "a.jpg", 1000)
    upload = ticket["upload"]
    preflight = send(
        stack.endpoint,
        "OPTIONS",
        f"/{BUCKET}",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status == 200 and preflight.headers["access-control-allow-origin"] == origin
    data = jpeg_bytes((32, 32))
    reply = post_upload(stack.endpoint, BUCKET, upload["fields"], data, origin=origin, site="same-site")
    assert reply.status == 204, reply.text
    assert reply.headers["access-control-allow-origin"] == origin
    stored = stack.client("s3").get_object(Bucket=BUCKET, Key=upload["fields"]["key"])
    assert stored["Body"].read() == data and stored["ContentType"] == "image/jpeg"
    token = f"Bearer {stack.token('page')}"
    listed = send(stack.api, "GET", "/images", headers={"Origin": origin, "Authorization": token})
    assert listed.status == 200 and listed.headers["access-control-allow-origin"] == origin
    assert "origin" in listed.headers["vary"].lower()


def test_acao_is_never_a_foreign_origin(stack: Stack) -> None:
    """No answer of either listener carries a foreign origin, whatever it is asked."""
    for url, target in ((stack.api, "/openapi.json"), (stack.api, "/"), (stack.endpoint, f"/{BUCKET}")):
        for method in ("GET", "OPTIONS", "POST"):
            reply = send(
                url, method, target, headers={"Origin": EVIL, "Access-Control-Request-Method": "GET"}
            )
            assert reply.headers.get("access-control-allow-origin") in (None,), (url, method, reply.headers)


# -- the gateway's own limits -------------------------------------------------------------------------------
def test_a_chunked_body_over_10_mib_is_413_json(stack: Stack) -> None:
    chunk = b"x" * (1024 * 1024)
    reply = send(
        stack.api,
        "POST",
        "/images",
        body=(chunk for _ in range(11)),
        chunked=True,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {stack.token('big')}"},
    )
    assert reply.status == 413, reply.text[:200]
    assert reply.json() == {"message": "Request Entity Too Large"}


def test_a_small_chunked_body_still_reaches_the_api(stack: Stack) -> None:
    body = json.dumps({"filename": "c.jpg", "content_type": "image/jpeg", "size": 10}).encode()
    reply = send(
        stack.api,
        "POST",
        "/uploads",
        body=(body[i : i + 7] for i in range(0, len(body), 7)),
        chunked=True,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {stack.token('chunky')}"},
    )
    assert reply.status == 201, reply.text
    assert reply.json()["upload"]["fields"]["key"].startswith("uploads/chunky/")


def test_a_very_long_uri_is_414_json(stack: Stack) -> None:
    reply = send(stack.api, "GET", "/images?tag=" + "a" * 70_000)
    assert reply.status == 414
    assert reply.json()["message"]
