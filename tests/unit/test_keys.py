"""S3 key layout and image ids."""

from __future__ import annotations

import pytest

from imgflow import keys


def test_image_ids_are_unique_url_safe_and_time_ordered() -> None:
    ids = [keys.new_image_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 26 and keys.is_valid_segment(i) for i in ids)
    assert ids[0][:10] <= ids[-1][:10]  # the first 10 characters are the millisecond timestamp


def test_upload_keys_round_trip() -> None:
    key = keys.upload_key("alice", "01abc")
    assert key == "uploads/alice/01abc"
    assert keys.parse_upload_key(key) == ("alice", "01abc")


@pytest.mark.parametrize(
    "key",
    [
        "uploads/alice",
        "uploads/alice/x/y",
        "other/alice/x",
        "uploads/al ice/x",
        "uploads//x",
        "uploads/a/x.jpg",
    ],
)
def test_keys_the_api_never_hands_out_are_not_parsed(key: str) -> None:
    assert keys.parse_upload_key(key) is None
    owner, image_id = keys.identity_for_key(key)
    assert owner == keys.UNROUTED_OWNER
    assert keys.identity_for_key(key) == (owner, image_id)  # stable: a duplicate event finds the same record
    assert keys.is_valid_segment(image_id)


def test_upload_key_refuses_unsafe_segments() -> None:
    with pytest.raises(ValueError):
        keys.upload_key("../etc", "x")


def test_renditions_live_under_the_owner_and_image() -> None:
    run = keys.run_tag("arn:aws:states:us-east-1:1:execution:ingest:x")
    assert keys.rendition_key("alice", "01abc", "thumb", "jpg", run) == f"alice/01abc/{run}/thumb.jpg"
    assert keys.rendition_key("alice", "01abc", "thumb", "jpg", run).startswith(
        keys.run_prefix("alice", "01abc", run)
    )
    assert keys.run_prefix("alice", "01abc", run).startswith(keys.rendition_prefix("alice", "01abc"))


def test_every_run_writes_its_renditions_under_a_key_of_its_own() -> None:
    a, b = keys.run_tag("arn:...:execution:ingest:a"), keys.run_tag("arn:...:execution:ingest:b")
    assert a != b and len(a) == 16
    assert keys.rendition_key("o", "i", "thumb", "jpg", a) != keys.rendition_key("o", "i", "thumb", "jpg", b)
