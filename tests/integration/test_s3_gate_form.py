"""The upload gate checks exactly what is stored: forms S3 reads otherwise than moto did are refused.

Mallory holds a valid ticket for her own key and tries to write Bob's original with it: a case-variant ``key``
field, a second file part, a file part under another name, a field after the file. Each is refused with S3's
error code, in path and virtual-host style, and nothing is stored: Bob's object is unchanged and Mallory's
key holds nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.images import jpeg_bytes
from tests.support.raw_http import MULTIPART, multipart, port_of, send
from tests.support.served import Stack

BUCKET = "imgflow-uploads"
STYLES = ["path", "vhost"]


def post(stack: Stack, style: str, body: bytes) -> Any:
    if style == "path":
        return send(stack.endpoint, "POST", f"/{BUCKET}", body=body, headers={"Content-Type": MULTIPART})
    host = f"{BUCKET}.localhost:{port_of(stack.endpoint)}"
    return send(stack.endpoint, "POST", "/", host=host, body=body, headers={"Content-Type": MULTIPART})


def ticket_fields(stack: Stack, user: str) -> dict[str, str]:
    return dict(stack.ticket(stack.session(user), "a.jpg", 1000)["upload"]["fields"])


def fields_of(fields: dict[str, str]) -> list[tuple[str, bytes | str, str | None]]:
    return [(k, v, None) for k, v in fields.items()]


@pytest.fixture(scope="module")
def bobs(stack: Stack) -> tuple[str, bytes]:
    """Bob's uploaded original: (key, bytes)."""
    fields = ticket_fields(stack, "bob")
    data = jpeg_bytes((40, 30))
    reply = post(stack, "path", multipart([*fields_of(fields), ("file", data, "bob.jpg")]))
    assert reply.status == 204, reply.text
    return fields["key"], data


def exists(stack: Stack, key: str) -> bool:
    return bool(stack.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount"))


def assert_nothing_stored(stack: Stack, bobs: tuple[str, bytes], mallorys: str) -> None:
    key, data = bobs
    assert stack.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read() == data
    assert not exists(stack, mallorys)


EVIL = b"<html>pwned</html>"


def _forms(mine: dict[str, str], bobs_key: str) -> dict[str, tuple[list[Any], set[str]]]:
    """Case -> (form parts, S3 error codes it may be refused with)."""
    own = fields_of(mine)
    data = jpeg_bytes((8, 8))
    invalid, files = {"InvalidArgument"}, {"IncorrectNumberOfFilesInPostRequest"}
    return {
        "Key beside key": ([*own, ("Key", bobs_key, None), ("file", EVIL, "x.jpg")], invalid),
        "KEY before key": ([("KEY", bobs_key, None), *own, ("file", EVIL, "x.jpg")], invalid),
        "key twice": ([*own, ("key", bobs_key, None), ("file", EVIL, "x.jpg")], invalid),
        "Content-TYPE beside Content-Type": (
            [*own, ("Content-TYPE", "text/html", None), ("file", EVIL, "x.jpg")],
            invalid,
        ),
        "second file part after file": ([*own, ("file", b"x", "a.jpg"), ("other", EVIL, "b.jpg")], invalid),
        "second file part named FILE": ([*own, ("file", b"x", "a.jpg"), ("FILE", EVIL, "b.jpg")], files),
        "file part before file": ([*own, ("upload", EVIL, "b.jpg"), ("file", b"x", "a.jpg")], files),
        "file part not named file": ([*own, ("upload", data, "a.jpg")], files),
        "no file": (own, files),
        "field after file": ([*own, ("file", data, "a.jpg"), ("key", bobs_key, None)], invalid),
        "ignored field after file": ([*own, ("file", data, "a.jpg"), ("x-ignore-a", "b", None)], invalid),
    }


CASES = sorted(_forms({}, "").keys())


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("case", CASES)
def test_a_form_s3_reads_otherwise_is_refused_and_stores_nothing(
    stack: Stack, bobs: tuple[str, bytes], style: str, case: str
) -> None:
    mine = ticket_fields(stack, "mallory")
    parts, codes = _forms(mine, bobs[0])[case]
    reply = post(stack, style, multipart(parts))
    assert reply.status == 400, (case, reply.status, reply.text[:300])
    assert reply.s3_code() in codes, (case, reply.text[:300])
    assert_nothing_stored(stack, bobs, mine["key"])


@pytest.mark.parametrize("style", STYLES)
def test_field_names_are_compared_without_case(stack: Stack, style: str) -> None:
    """S3 reads ``KEY`` as ``key``: a ticket's fields in another case upload to the ticket's key."""
    mine = ticket_fields(stack, "carol")
    data = jpeg_bytes((16, 16))
    parts = [(k.upper() if k in ("key", "Content-Type") else k, v, None) for k, v in mine.items()]
    reply = post(stack, style, multipart([*parts, ("File", data, "c.jpg")]))
    assert reply.status == 204, reply.text
    stored = stack.client("s3").get_object(Bucket=BUCKET, Key=mine["key"])
    assert stored["Body"].read() == data and stored["ContentType"] == "image/jpeg"


@pytest.mark.parametrize("style", STYLES)
def test_the_stored_bytes_are_the_checked_bytes(stack: Stack, style: str) -> None:
    """Bytes that look like a boundary or a part header inside the file are data, stored as sent."""
    mine = ticket_fields(stack, "dave")
    data = (
        jpeg_bytes((16, 16)) + b'\r\n--imgflowboundar\r\nContent-Disposition: form-data; name="key"\r\n\r\n'
    )
    reply = post(stack, style, multipart([*fields_of(mine), ("file", data, "d.jpg")]))
    assert reply.status == 204, reply.text
    assert stack.client("s3").get_object(Bucket=BUCKET, Key=mine["key"])["Body"].read() == data


def test_a_key_over_the_size_limit_in_a_second_part_is_refused(stack: Stack, bobs: tuple[str, bytes]) -> None:
    """The issue's case: a 1-byte ``file`` then a large part under another name (past the policy's size)."""
    mine = ticket_fields(stack, "mallory")
    big = b"\xff" * (3 * 1024 * 1024)
    reply = post(stack, "path", multipart([*fields_of(mine), ("file", b"x", "a.jpg"), ("file2", big, "b")]))
    assert reply.status == 400 and reply.s3_code() == "InvalidArgument", reply.text[:300]
    assert_nothing_stored(stack, bobs, mine["key"])
