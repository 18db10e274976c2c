"""Polling an upload's progress is not an access; the list carries gallery thumbnails."""

from __future__ import annotations

import requests

from tests.support.images import jpeg_bytes
from tests.support.served import Stack
from tests.support.waiting import wait_image


def _upload(session: requests.Session, stack: Stack, data: bytes, filename: str) -> str:
    ticket = stack.ticket(session, filename, len(data))
    posted = requests.post(
        ticket["upload"]["url"],
        data=ticket["upload"]["fields"],
        files={"file": (filename, data, "image/jpeg")},
        timeout=30,
    )
    assert posted.status_code == 204, posted.text
    return str(ticket["id"])


def _wait(session: requests.Session, stack: Stack, image_id: str) -> dict[str, object]:
    return wait_image(session, f"{stack.api}/images/{image_id}/status", timeout=30, interval=0.05)


def test_polling_does_not_count_as_access(stack: Stack) -> None:
    bob = stack.session("status-bob")
    image_id = _upload(bob, stack, jpeg_bytes((320, 200)), "poll.jpg")
    status = _wait(bob, stack, image_id)
    assert status["status"] == "PROCESSED"
    assert set(status) == {"id", "status", "reason", "error", "updated_at"}
    for _ in range(3):
        bob.get(f"{stack.api}/images/{image_id}/status", timeout=10).raise_for_status()
    listed = bob.get(f"{stack.api}/images", timeout=10).json()["items"]
    assert [i["id"] for i in listed] == [image_id]
    first = bob.get(f"{stack.api}/images/{image_id}", timeout=10).json()
    assert "access_count" in first, first
    assert first["access_count"] == 1  # status polls and the list did not count
    second = bob.get(f"{stack.api}/images/{image_id}", timeout=10).json()
    assert second["access_count"] == 2


def test_detail_of_an_unfinished_or_rejected_image_is_not_an_access(stack: Stack) -> None:
    carol = stack.session("status-carol")
    pending = stack.ticket(carol, "later.jpg")["id"]
    for _ in range(2):
        body = carol.get(f"{stack.api}/images/{pending}", timeout=10).json()
        assert body["status"] == "PENDING" and body["access_count"] == 0
    broken = _upload(carol, stack, b"\xff\xd8\xff\xe0 not really a jpeg", "broken.jpg")
    status = _wait(carol, stack, broken)
    assert status["status"] == "REJECTED" and status["reason"]
    assert status["error"] and status["error"]["message"]  # the rejection in words
    detail = carol.get(f"{stack.api}/images/{broken}", timeout=10).json()
    assert detail["access_count"] == 0 and detail["error"] == status["error"]


def test_list_items_carry_a_thumbnail_url(stack: Stack) -> None:
    dave = stack.session("status-dave")
    image_id = _upload(dave, stack, jpeg_bytes((900, 600)), "thumb.jpg")
    assert _wait(dave, stack, image_id)["status"] == "PROCESSED"
    (item,) = dave.get(f"{stack.api}/images", timeout=10).json()["items"]
    assert item["thumbnail_url"]
    thumb = requests.get(item["thumbnail_url"], timeout=10)
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/jpeg"
    detail = dave.get(f"{stack.api}/images/{image_id}", timeout=10).json()
    smallest = min(detail["renditions"], key=lambda r: r["width"])
    assert len(thumb.content) == smallest["bytes"]


def test_status_of_someone_elses_image_is_404(stack: Stack) -> None:
    erin = stack.session("status-erin")
    image_id = stack.ticket(erin, "mine.jpg")["id"]
    assert erin.get(f"{stack.api}/images/{image_id}/status", timeout=10).status_code == 200
    other = stack.session("status-frank").get(f"{stack.api}/images/{image_id}/status", timeout=10)
    assert other.status_code == 404
