"""The image record remembers its runs at Claim: newest last, bounded, no repeats (DynamoDB on moto)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from imgflow import keys
from imgflow.records import ImageRepository
from imgflow.records.repository import MAX_RUNS, recent_runs
from imgflow_tools.local.cloud import LocalCloud
from tests.support.cloud import own_table
from tests.support.records import claim


@pytest.fixture(scope="module")
def repo(cloud: LocalCloud) -> Iterator[ImageRepository]:
    with own_table(cloud, "runs-test") as table:
        yield table


def test_each_claim_is_remembered_bounded_and_once(repo: ImageRepository) -> None:
    image_id = keys.new_image_id()
    for i in range(MAX_RUNS + 3):
        claim(repo, f"{i:04d}", f"run-{i}", image_id=image_id)
    last = MAX_RUNS + 2
    claim(repo, f"{last:04d}", f"run-{last}", image_id=image_id)  # the same run claims again (a retry)
    record = repo.get(image_id)
    assert record is not None
    assert record["runs"] == [f"run-{i}" for i in range(3, MAX_RUNS + 3)]
    assert recent_runs(record)[0] == f"run-{MAX_RUNS + 2}"


def test_a_run_that_never_claimed_is_still_found(repo: ImageRepository) -> None:
    image_id = keys.new_image_id()
    claim(repo, "0001", "run-1", image_id=image_id)
    record = repo.get(image_id)
    assert record is not None
    assert recent_runs({**record, "execution_arn": "run-2"}) == ["run-2", "run-1"]
    assert recent_runs({"execution_arn": "run-0"}) == ["run-0"]
