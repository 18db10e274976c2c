"""The API over real HTTP against ``imgflow serve``: uploads, the workflow, downloads, owners, pages."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from imgflow import keys
from imgflow_tools import tokens
from tests.support.images import jpeg_bytes
from tests.support.served import MAX_BYTES, Stack, new_upload, post_file
from tests.support.waiting import wait_final


def s3_error(response: requests.Response) -> tuple[str, str]:
    text = response.text
    code = text.split("<Code>")[1].split("</Code>")[0]
    message = text.split("<Message>")[1].split("</Message>")[0]
    return code, message


@pytest.fixture(scope="module")
def alice(stack: Stack) -> requests.Session:
    return stack.session("alice")


@pytest.fixture(scope="module")
def uploaded() -> bytes:
    """The bytes of ``processed`` (``jpeg_bytes`` differs on every call)."""
    return jpeg_bytes()


@pytest.fixture(scope="module")
def processed(stack: Stack, alice: requests.Session, uploaded: bytes) -> dict[str, Any]:
    """One image through the whole flow: presigned POST over HTTP, workflow, final record."""
    ticket = new_upload(alice, stack.api, filename="Süd photo.jpg")
    assert alice.get(f"{stack.api}/images/{ticket['id']}", timeout=10).json()["status"] == "PENDING"
    response = post_file(ticket, uploaded)
    assert response.status_code == 204, response.text
    return stack.wait_final(alice, ticket["id"])


# -- the whole flow -------------------------------------------------------------------------------------
def test_upload_process_download(
    stack: Stack, alice: requests.Session, processed: dict[str, Any], uploaded: bytes
) -> None:
    assert processed["status"] == "PROCESSED", processed
    assert (processed["width"], processed["height"]) == (640, 480)
    assert {r["name"] for r in processed["renditions"]} >= {"thumb"}
    thumb = next(r for r in processed["renditions"] if r["name"] == "thumb")
    got = requests.get(thumb["url"], timeout=10)
    assert got.status_code == 200
    assert got.headers["Content-Type"] == "image/jpeg"
    assert got.content[:2] == b"\xff\xd8" and len(got.content) == thumb["bytes"]
    original = requests.get(processed["original_url"], timeout=10)
    assert original.status_code == 200 and original.content == uploaded


def test_download_as_attachment_and_access_count(
    stack: Stack, alice: requests.Session, processed: dict[str, Any]
) -> None:
    before = processed["access_count"]
    detail = alice.get(f"{stack.api}/images/{processed['id']}?download=true&expires=99999", timeout=10).json()
    assert detail["urls_expire_in"] == 3600  # capped
    assert detail["access_count"] > before and detail["last_accessed_at"]
    got = requests.get(detail["original_url"], timeout=10)
    disposition = got.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "S%C3%BCd%20photo.jpg" in disposition


def test_inline_upload_goes_through_the_workflow(stack: Stack, alice: requests.Session) -> None:
    body = {
        "filename": "small.jpg",
        "content_type": "image/jpeg",
        "data": base64.b64encode(jpeg_bytes()).decode(),
    }
    response = alice.post(f"{stack.api}/images", json=body, timeout=10)
    assert response.status_code == 202, response.text
    assert stack.wait_final(alice, response.json()["id"])["status"] == "PROCESSED"


def test_inline_upload_too_large_points_to_uploads(stack: Stack, alice: requests.Session) -> None:
    data = base64.b64encode(b"\0" * (MAX_BYTES + 1)).decode()
    response = alice.post(
        f"{stack.api}/images",
        json={"filename": "big.jpg", "content_type": "image/jpeg", "data": data},
        timeout=30,
    )
    assert response.status_code == 413
    assert "POST /uploads" in response.json()["message"]


def test_bulk_uploads(stack: Stack, alice: requests.Session) -> None:
    files = [{"filename": f"{i}.png", "content_type": "image/png", "size": 10} for i in range(3)]
    response = alice.post(f"{stack.api}/uploads", json={"files": files}, timeout=10)
    assert response.status_code == 201
    uploads = response.json()["uploads"]
    assert len({u["id"] for u in uploads}) == 3
    assert all(u["upload"]["fields"]["key"].endswith(u["id"]) for u in uploads)


def test_reprocess_runs_the_workflow_again(
    stack: Stack, alice: requests.Session, processed: dict[str, Any]
) -> None:
    response = alice.post(f"{stack.api}/images/{processed['id']}/reprocess", timeout=10)
    assert response.status_code == 202, response.text
    arn = response.json()["execution_arn"]
    assert wait_final(stack, arn)["status"] == "SUCCEEDED"
    after = alice.get(f"{stack.api}/images/{processed['id']}", timeout=10).json()
    assert after["status"] == "PROCESSED" and after["updated_at"] > processed["updated_at"]


def test_reprocess_of_a_pending_image_is_a_conflict(stack: Stack, alice: requests.Session) -> None:
    ticket = new_upload(alice, stack.api)
    assert alice.post(f"{stack.api}/images/{ticket['id']}/reprocess", timeout=10).status_code == 409


def test_patch_and_delete(stack: Stack, alice: requests.Session) -> None:
    ticket = new_upload(alice, stack.api)
    assert post_file(ticket, jpeg_bytes()).status_code == 204
    record = stack.wait_final(alice, ticket["id"])
    url = f"{stack.api}/images/{ticket['id']}"
    patched = alice.patch(url, json={"tags": ["a", "b", "a"], "description": "hello"}, timeout=10)
    assert patched.status_code == 200 and patched.json()["tags"] == ["a", "b"]
    assert alice.patch(url, json={"tags": ["bad/tag"]}, timeout=10).status_code == 422
    assert alice.patch(url, json={"colour": "red"}, timeout=10).status_code == 422
    assert alice.delete(url, timeout=10).status_code == 204
    assert alice.get(url, timeout=10).status_code == 404
    assert alice.delete(url, timeout=10).status_code == 404  # nothing left to delete
    s3 = stack.client("s3")
    assert s3.list_objects_v2(Bucket="imgflow-renditions", Prefix=f"alice/{ticket['id']}/")["KeyCount"] == 0
    assert (
        s3.list_objects_v2(Bucket="imgflow-uploads", Prefix=f"uploads/alice/{ticket['id']}")["KeyCount"] == 0
    )
    # A missing object: S3 answers 403 to a caller that may not list the bucket (moto too).
    assert requests.get(record["renditions"][0]["url"], timeout=10).status_code in (403, 404)


# -- the presigned POST is enforced like S3 --------------------------------------------------------------
def test_oversize_upload_refused(stack: Stack, alice: requests.Session) -> None:
    response = post_file(new_upload(alice, stack.api), b"\xff" * (MAX_BYTES + 1))
    assert response.status_code == 400
    assert s3_error(response)[0] == "EntityTooLarge"
    assert (
        alice.post(
            f"{stack.api}/uploads",
            json={"filename": "x.jpg", "content_type": "image/jpeg", "size": MAX_BYTES + 1},
            timeout=10,
        ).status_code
        == 413
    )


def test_empty_upload_refused(stack: Stack, alice: requests.Session) -> None:
    response = post_file(new_upload(alice, stack.api), b"")
    assert (response.status_code, s3_error(response)[0]) == (400, "EntityTooSmall")


def test_wrong_content_type_refused(stack: Stack, alice: requests.Session) -> None:
    ticket = new_upload(alice, stack.api)
    response = post_file(
        ticket, jpeg_bytes(), fields={**ticket["upload"]["fields"], "Content-Type": "text/html"}
    )
    assert response.status_code == 403
    code, message = s3_error(response)
    assert code == "AccessDenied" and message.startswith(
        "Invalid according to Policy: Policy Condition failed"
    )
    response = alice.post(
        f"{stack.api}/uploads",
        json={"filename": "x.html", "content_type": "text/html", "size": 5},
        timeout=10,
    )
    assert response.status_code == 422 and "content_type" in response.json()["message"]


def test_other_key_refused(stack: Stack, alice: requests.Session) -> None:
    ticket = new_upload(alice, stack.api)
    fields = {**ticket["upload"]["fields"], "key": f"uploads/bob/{keys.new_image_id()}"}
    response = post_file(ticket, jpeg_bytes(), fields=fields)
    assert response.status_code == 403 and "Policy Condition failed" in s3_error(response)[1]


def test_tampered_policy_and_extra_fields_refused(stack: Stack, alice: requests.Session) -> None:
    ticket = new_upload(alice, stack.api)
    fields = ticket["upload"]["fields"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    policy["conditions"] = [c for c in policy["conditions"] if not isinstance(c, list)]  # drop the size range
    forged = base64.b64encode(json.dumps(policy).encode()).decode()
    response = post_file(ticket, jpeg_bytes(), fields={**fields, "policy": forged})
    assert (response.status_code, s3_error(response)[0]) == (403, "SignatureDoesNotMatch")
    response = post_file(ticket, jpeg_bytes(), fields={**fields, "acl": "public-read"})
    assert response.status_code == 403 and "Extra input fields: acl" in s3_error(response)[1]


def test_expired_upload_refused(stack: Stack, alice: requests.Session) -> None:
    post = stack.client("s3").generate_presigned_post(
        "imgflow-uploads", f"uploads/alice/{keys.new_image_id()}", ExpiresIn=-5
    )
    response = requests.post(post["url"], data=post["fields"], files={"file": ("a.jpg", b"x")}, timeout=10)
    assert response.status_code == 403
    assert s3_error(response)[1] == "Invalid according to Policy: Policy expired."


def test_cors_preflight_on_the_s3_endpoint(stack: Stack) -> None:
    response = requests.options(
        f"{stack.endpoint}/imgflow-uploads",
        headers={"Origin": stack.api, "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == stack.api


# -- presigned GETs expire and cannot be edited ----------------------------------------------------------
def test_presigned_get_tampered_or_expired(
    stack: Stack, alice: requests.Session, processed: dict[str, Any]
) -> None:
    detail = alice.get(f"{stack.api}/images/{processed['id']}?expires=1", timeout=10).json()
    url = detail["renditions"][0]["url"]
    assert "X-Amz-Expires=1&" in url
    longer = requests.get(url.replace("X-Amz-Expires=1&", "X-Amz-Expires=3600&"), timeout=10)
    assert (longer.status_code, s3_error(longer)[0]) == (403, "SignatureDoesNotMatch")
    other = requests.get(url.replace("/thumb.", "/medium."), timeout=10)
    assert (other.status_code, s3_error(other)[0]) == (403, "SignatureDoesNotMatch")
    time.sleep(2.1)
    expired = requests.get(url, timeout=10)
    assert expired.status_code == 403
    assert s3_error(expired) == ("AccessDenied", "Request has expired")


# -- owners ----------------------------------------------------------------------------------------------
def test_another_owners_image_is_invisible(stack: Stack, processed: dict[str, Any]) -> None:
    bob = stack.session("bob")
    url = f"{stack.api}/images/{processed['id']}"
    assert bob.get(url, timeout=10).status_code == 404
    assert bob.patch(url, json={"tags": ["mine"]}, timeout=10).status_code == 404
    assert bob.delete(url, timeout=10).status_code == 404
    assert bob.post(f"{url}/reprocess", timeout=10).status_code == 404
    assert (
        bob.get(f"{stack.api}/images/{keys.new_image_id()}", timeout=10).json()
        == bob.get(url, timeout=10).json()
    )
    assert processed["id"] not in {
        i["id"] for i in bob.get(f"{stack.api}/images", timeout=10).json()["items"]
    }
    assert stack.session("alice").get(url, timeout=10).status_code == 200


def test_authentication(stack: Stack) -> None:
    url = f"{stack.api}/images"
    assert requests.get(url, timeout=10).status_code == 401
    forged = tokens.issue("alice", key=b"not-the-key" * 4)
    assert requests.get(url, headers={"Authorization": f"Bearer {forged}"}, timeout=10).status_code == 401
    expired = stack.token("alice", ttl_s=-10)
    assert requests.get(url, headers={"Authorization": f"Bearer {expired}"}, timeout=10).status_code == 401
    assert requests.get(f"{stack.api}/openapi.json", timeout=10).status_code == 200


def test_token_command_works_with_the_running_server(stack: Stack) -> None:
    token = subprocess.run(
        [sys.executable, "-m", "imgflow_tools.cli", "token", "carol"],
        env=stack.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    response = requests.get(f"{stack.api}/images", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200 and response.json()["items"] == []


# -- lists -----------------------------------------------------------------------------------------------
def test_pagination_returns_each_of_1000_images_once(stack: Stack) -> None:
    repo = stack.repository()
    owner = "pager"

    def create(i: int) -> str:
        image_id = keys.new_image_id()
        repo.create_pending(
            image_id=image_id, owner=owner, filename=f"{i}.jpg", content_type="image/jpeg", size=1
        )
        return image_id

    with ThreadPoolExecutor(8) as pool:
        created = set(pool.map(create, range(1000)))
    session = stack.session(owner)
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        page = session.get(f"{stack.api}/images", params=params, timeout=30).json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    ids = [i["id"] for i in seen]
    assert len(ids) == len(set(ids)) == 1000 and set(ids) == created
    order = [(i["created_at"], i["id"]) for i in seen]
    assert order == sorted(order, reverse=True)  # newest first


def test_bad_cursors(stack: Stack, alice: requests.Session) -> None:
    for _ in range(3):
        new_upload(alice, stack.api)
    page = alice.get(f"{stack.api}/images", params={"limit": 1}, timeout=10).json()
    cursor = page["next_cursor"]
    assert cursor
    body, mac = cursor.split(".")
    tampered = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + mac
    url = f"{stack.api}/images"
    for bad in ("garbage", tampered, cursor + "x", "a.b.c"):
        response = alice.get(url, params={"cursor": bad}, timeout=10)
        assert response.status_code == 400, bad
        assert "cursor" in response.json()["message"]
    # Someone else's cursor, or the same cursor with other filters: refused, never their data.
    assert stack.session("bob").get(url, params={"cursor": cursor}, timeout=10).status_code == 400
    assert alice.get(url, params={"cursor": cursor, "status": "PENDING"}, timeout=10).status_code == 400
    assert alice.get(url, params={"cursor": cursor, "limit": 1}, timeout=10).status_code == 200


def test_filters(stack: Stack) -> None:
    session = stack.session("filterer")
    api = stack.api
    pending = new_upload(session, api)
    good = session.post(
        f"{api}/images",
        json={
            "filename": "g.jpg",
            "content_type": "image/jpeg",
            "data": base64.b64encode(jpeg_bytes()).decode(),
        },
        timeout=10,
    ).json()
    junk = session.post(
        f"{api}/images",
        json={
            "filename": "j.jpg",
            "content_type": "image/jpeg",
            "data": base64.b64encode(b"not an image").decode(),
        },
        timeout=10,
    ).json()
    assert stack.wait_final(session, good["id"])["status"] == "PROCESSED"
    assert stack.wait_final(session, junk["id"])["status"] == "REJECTED"
    session.patch(f"{api}/images/{good['id']}", json={"tags": ["beach"]}, timeout=10)

    def ids(**params: Any) -> list[str]:
        response = session.get(f"{api}/images", params=params, timeout=10)
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["items"]]

    assert ids() == [junk["id"], good["id"], pending["id"]]
    assert ids(status="PROCESSED") == [good["id"]]
    assert ids(status="REJECTED") == [junk["id"]]
    assert ids(status="PENDING", limit=1) == [pending["id"]]
    assert ids(tag="beach") == [good["id"]]
    assert ids(tag="beach", status="REJECTED") == []
    created = {i["id"]: i["created_at"] for i in session.get(f"{api}/images", timeout=10).json()["items"]}
    assert ids(since=created[good["id"]]) == [junk["id"], good["id"]]
    assert ids(until=created[good["id"]]) == [good["id"], pending["id"]]
    assert ids(since=created[good["id"]], until=created[good["id"]]) == [good["id"]]
    assert session.get(f"{api}/images", params={"since": "yesterday"}, timeout=10).status_code == 422
    assert session.get(f"{api}/images", params={"status": "LOST"}, timeout=10).status_code == 422
    assert session.get(f"{api}/images", params={"limit": 1000}, timeout=10).status_code == 422
    response = session.get(
        f"{api}/images", params={"since": "2030-01-02T00:00:00Z", "until": "2030-01-01T00:00:00Z"}, timeout=10
    )
    assert response.status_code == 400


# -- bad input -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/uploads", "{not json"),
        ("post", "/uploads", json.dumps({"filename": "a.jpg", "content_type": "image/jpeg"})),
        ("post", "/uploads", json.dumps({"filename": "a.jpg", "content_type": "image/jpeg", "size": "big"})),
        (
            "post",
            "/uploads",
            json.dumps({"filename": "a.jpg", "content_type": "image/jpeg", "size": 1, "x": 1}),
        ),
        ("post", "/uploads", json.dumps({"filename": "a" * 300, "content_type": "image/jpeg", "size": 1})),
        ("post", "/uploads", json.dumps({"filename": "a\u0000b", "content_type": "image/jpeg", "size": 1})),
        ("post", "/uploads", '{"filename": "\\ud800", "content_type": "image/jpeg", "size": 1}'),
        ("post", "/uploads", json.dumps({"files": []})),
        ("post", "/uploads", json.dumps([1, 2])),
        ("post", "/images", json.dumps({"filename": "a.jpg", "content_type": "image/jpeg", "data": "!!"})),
        ("patch", "/images/x", json.dumps({"description": "d" * 1001})),
        ("get", "/images/../../etc", None),
        ("get", "/images/" + "x" * 200, None),
    ],
)
def test_bad_input_is_a_clear_4xx(
    stack: Stack, alice: requests.Session, method: str, path: str, body: str | None
) -> None:
    response = alice.request(
        method, f"{stack.api}{path}", data=body, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["message"] and "Traceback" not in response.text


def test_renditions_come_in_the_best_format_the_client_accepts() -> None:
    from api.service import accepted_formats, best_renditions

    renditions = [
        {"name": "thumb", "format": "JPEG"},
        {"name": "thumb", "format": "WEBP"},
        {"name": "thumb", "format": "AVIF"},
        {"name": "large", "format": "JPEG"},
        {"name": "only_avif", "format": "AVIF"},
    ]
    chrome = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
    old = "image/webp,*/*"
    assert accepted_formats(None) == {"JPEG", "PNG"}
    assert accepted_formats("image/avif;q=0, image/webp;q=0.5") == {"JPEG", "PNG", "WEBP"}
    pick = {r["name"]: r["format"] for r in best_renditions(renditions, chrome)}
    assert pick == {"thumb": "AVIF", "large": "JPEG", "only_avif": "AVIF"}
    assert {r["name"]: r["format"] for r in best_renditions(renditions, old)}["thumb"] == "WEBP"
    assert {r["name"]: r["format"] for r in best_renditions(renditions, "*/*")}["thumb"] == "JPEG"
