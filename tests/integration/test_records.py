"""The record repository's conditional writes against DynamoDB (moto): ownership, ordering, queries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from imgflow.errors import DuplicateRun, SupersededResult
from imgflow.records import ImageRepository, Status
from imgflow.records import table as t
from imgflow_tools.local.cloud import LocalCloud
from tests.support.cloud import own_table
from tests.support.records import claim

TABLE_NAME = "records-test"


@pytest.fixture
def repo(cloud: LocalCloud) -> Iterator[ImageRepository]:
    with own_table(cloud, TABLE_NAME) as table:
        yield table


def _finish(
    repo: ImageRepository, seq: str, run: str, status: Status = Status.PROCESSED, **fields: object
) -> dict:
    record, _ = repo.finish(
        image_id="img1",
        owner="alice",
        sequencer=seq,
        execution_arn=run,
        status=status,
        pipeline_version="v1",
        fields=dict(fields),
        bucket="b",
        key="uploads/alice/img1",
    )
    return record


def test_a_claimed_upload_is_finished_by_its_run(repo: ImageRepository) -> None:
    claim(repo, "0001", "run-a")
    assert repo.get("img1")["status"] == "PROCESSING"
    record = _finish(repo, "0001", "run-a", width=10, exif={"f_number": 2.8})
    assert (record["status"], record["width"], record["exif"]["f_number"]) == ("PROCESSED", 10, 2.8)


def test_the_same_run_may_claim_again_but_another_run_of_the_same_upload_may_not(
    repo: ImageRepository,
) -> None:
    claim(repo, "0001", "run-a")
    claim(repo, "0001", "run-a")  # a retried invoke
    with pytest.raises(DuplicateRun):
        claim(repo, "0001", "run-b")
    _finish(repo, "0001", "run-a")
    with pytest.raises(DuplicateRun):
        claim(repo, "0001", "run-c")  # a duplicate delivered after the result


def test_a_newer_upload_takes_over_and_the_older_run_cannot_overwrite_it(repo: ImageRepository) -> None:
    claim(repo, "0001", "run-old")
    claim(repo, "0002", "run-new")
    with pytest.raises(SupersededResult):
        _finish(repo, "0001", "run-old")
    _finish(repo, "0002", "run-new", width=2)
    with pytest.raises(DuplicateRun):
        claim(repo, "0001", "run-late")  # the old event, delivered late
    assert repo.get("img1")["width"] == 2


def test_a_reprocess_run_takes_over_a_finished_record_once(repo: ImageRepository) -> None:
    claim(repo, "0001", "run-a")
    _finish(repo, "0001", "run-a", status=Status.FAILED)
    claim(repo, "0001", "run-r", reprocess=True)
    with pytest.raises(DuplicateRun):
        claim(repo, "0001", "run-r2", reprocess=True)  # one live run at a time
    with pytest.raises(DuplicateRun):
        claim(repo, "0002", "run-r3", reprocess=True)  # only for the upload the record holds
    assert _finish(repo, "0001", "run-r")["status"] == "PROCESSED"


def test_the_pending_record_keeps_its_creation_facts(repo: ImageRepository) -> None:
    pending = repo.create_pending(
        image_id="img1", owner="alice", filename="a.jpg", content_type="image/jpeg", size=5
    )
    claim(repo, "0001", "run-a")
    record = _finish(repo, "0001", "run-a")
    assert (record["created_at"], record["filename"]) == (pending["created_at"], "a.jpg")


def test_queries_by_owner_and_by_status_and_version(repo: ImageRepository) -> None:
    for i in range(5):
        claim(repo, "0001", f"run-{i}", image_id=f"img{i}")
    repo.finish(
        image_id="img3", owner="alice", sequencer="0001", execution_arn="run-3", status=Status.FAILED,
        pipeline_version="v1", fields={}, bucket="b", key="uploads/alice/img3",
    )  # fmt: skip
    listed = repo.list_by_owner("alice", limit=10).items
    assert [i["image_id"] for i in listed] == ["img4", "img3", "img2", "img1", "img0"]
    assert repo.list_by_owner("bob").items == []
    assert [i["image_id"] for i in repo.by_status(Status.FAILED).items] == ["img3"]
    v1 = {"below": t.version_prefix("v1"), "at_or_above": t.version_end("v1")}
    assert [i["image_id"] for i in repo.by_status(Status.FAILED, below=v1["at_or_above"]).items] == ["img3"]
    # "not version v1" is two ranges around it: nothing on either side here
    assert repo.by_status(Status.FAILED, below=v1["below"]).items == []
    assert repo.by_status(Status.FAILED, at_or_above=v1["at_or_above"]).items == []
    v0 = {"below": t.version_prefix("v0"), "at_or_above": t.version_end("v0")}
    assert [i["image_id"] for i in repo.by_status(Status.FAILED, at_or_above=v0["at_or_above"]).items] == [
        "img3"
    ]


def test_a_deleted_image_stays_deleted(repo: ImageRepository) -> None:
    claim(repo, "0001", "run-a")
    assert repo.delete("img1", "bob") is False  # not bob's
    assert repo.delete("img1", "alice") is True
    assert repo.delete("img1", "alice") is False  # already gone
    assert repo.get_owned("img1", "alice") is None
    assert repo.list_by_owner("alice").items == []
    with pytest.raises(SupersededResult):
        _finish(repo, "0001", "run-a")  # the run that was working on it
    with pytest.raises(DuplicateRun):
        claim(repo, "0002", "run-b")  # an upload through a presigned POST still valid
    tombstone = repo.get("img1")
    assert tombstone["status"] == "DELETED" and tombstone["expires_at"] > 0
    assert "gsi1pk" not in tombstone and "renditions" not in tombstone
