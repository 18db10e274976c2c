"""Hostile request bodies, parameters and tokens over real HTTP against ``imgflow serve``: 4xx with a JSON
message, never a 500 (each case here answered 500, or was accepted, before it was fixed)."""

from __future__ import annotations

import time

import jwt
import pytest
import requests

from imgflow import keys
from imgflow_tools import tokens
from tests.support.served import Stack


def assert_clear_4xx(response: requests.Response, *statuses: int) -> None:
    assert response.status_code in (statuses or range(400, 500)), (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["message"] and "Traceback" not in response.text


BIG = "9" * 5000


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/uploads", "[" * 50000),
        ("/uploads", "{" * 50000),
        ("/uploads", '{"a":' * 50000),
        ("/uploads", '{"files": ' + "[" * 50000 + "]" * 50000 + "}"),
        ("/uploads", "[" * 50000 + "]" * 50000),
        ("/uploads", f'{{"filename": "a.jpg", "content_type": "image/jpeg", "size": {BIG}}}'),
        ("/uploads", f'{{"filename": "a.jpg", "content_type": "image/jpeg", "size": -{BIG}}}'),
        ("/uploads", f'{{"files": [{{"filename": "a.jpg", "content_type": "image/jpeg", "size": {BIG}}}]}}'),
        ("/uploads", '{"filename": "a.jpg", "content_type": "image/jpeg", "size": 1e999}'),
        ("/uploads", '{"filename": "a.jpg", "content_type": "image/jpeg", "size": NaN}'),
        ("/images", f'{{"filename": "a.jpg", "content_type": "image/jpeg", "data": "AAAA", "x": {BIG}}}'),
    ],
    ids=lambda v: v[:40] if isinstance(v, str) else v,
)
def test_hostile_json_bodies(stack: Stack, path: str, body: str) -> None:
    session = stack.session("alice")
    response = session.post(
        f"{stack.api}{path}", data=body, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert_clear_4xx(response, 400, 413, 422)


def test_hostile_json_in_patch(stack: Stack) -> None:
    session = stack.session("alice")
    url = f"{stack.api}/images/{keys.new_image_id()}"
    for body in ("[" * 50000, f'{{"tags": [{BIG}]}}'):
        assert_clear_4xx(
            session.patch(url, data=body, headers={"Content-Type": "application/json"}, timeout=30)
        )


@pytest.mark.parametrize(
    "params",
    [
        {"limit": BIG},
        {"limit": "-" + BIG},
        {"since": "9999-12-31T23:59:59-14:00"},
        {"until": "0001-01-01T00:00:00+14:00"},
        {"since": "2024-01-01T00:00:00+99:00"},
        {"since": "2024-13-01"},
        {"since": "2024-01-01\n"},
        {"tag": "holiday\n"},
        {"status": "PROCESSED\n"},
        {"cursor": "é.é"},
        {"cursor": "\x00.\x00"},
    ],
    ids=lambda p: repr(p)[:40],
)
def test_hostile_list_parameters(stack: Stack, params: dict[str, str]) -> None:
    assert_clear_4xx(stack.session("alice").get(f"{stack.api}/images", params=params, timeout=10))


@pytest.mark.parametrize("expires", [BIG, "1e3", "0x10", " 5"])
def test_hostile_get_parameters(stack: Stack, expires: str) -> None:
    url = f"{stack.api}/images/{keys.new_image_id()}"
    response = stack.session("alice").get(url, params={"expires": expires}, timeout=10)
    assert_clear_4xx(response)


@pytest.mark.parametrize(
    "image_id", ["x%0A", "x%0a", "%0Ax", "x%00", "x%20", "%C3%A9", "x%2F..%2Fy", "x" * 129]
)
def test_image_ids_must_match_in_full(stack: Stack, image_id: str) -> None:
    response = stack.session("alice").get(f"{stack.api}/images/{image_id}", timeout=10)
    assert_clear_4xx(response, 404, 422)


def test_tags_must_match_in_full(stack: Stack) -> None:
    session = stack.session("alice")
    ticket = stack.ticket(session, "a.jpg")
    url = f"{stack.api}/images/{ticket['id']}"
    for tag in ("holiday\n", "holiday\r\n", "\nholiday"):
        assert_clear_4xx(session.patch(url, json={"tags": [tag]}, timeout=10), 422)
    assert session.patch(url, json={"tags": ["holiday"]}, timeout=10).status_code == 200


def _token(stack: Stack, sub: object) -> str:
    now = int(time.time())
    claims = {"sub": sub, "iss": tokens.ISSUER, "aud": tokens.AUDIENCE, "iat": now, "exp": now + 600}
    return jwt.encode(claims, stack.key, algorithm=tokens.ALGORITHM)


@pytest.mark.parametrize(
    "sub", ["alice\n", "alice\r\n", "\nalice", "alice\x00", "a" * 129, "", "alice/bob", 7]
)
def test_token_subject_must_be_a_whole_user_name(stack: Stack, sub: object) -> None:
    """A newline after the name passed ``re.match(r"^...$")``: the owner became ``alice\\n``."""
    token = _token(stack, sub)
    response = requests.get(f"{stack.api}/images", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 401 and response.json()["message"] == "Unauthorized"
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(token, key=stack.key)


def test_names_match_in_full() -> None:
    for bad in ("alice\n", "alice\r", "al ice", "", "a" * 129, "é"):
        assert not keys.is_valid_segment(bad), repr(bad)
        with pytest.raises(ValueError):
            tokens.issue(bad, key=b"k" * 32)
        with pytest.raises(ValueError):
            keys.upload_key(bad, "img")
    assert keys.parse_upload_key("uploads/alice\n/img") is None
    assert keys.parse_upload_key("uploads/alice/img\n") is None
    assert keys.parse_upload_key("uploads/alice/img") == ("alice", "img")
