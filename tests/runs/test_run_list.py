"""The image record remembers its runs at Claim: newest last, bounded, no repeats (DynamoDB on moto)."""

from __future__ import annotations

from imgflow.records import ImageRepository
from imgflow.records.repository import MAX_RUNS, recent_runs
from tests.integration.test_records import _claim, repo  # noqa: F401  (the fixture)


def test_each_claim_is_remembered_bounded_and_once(repo: ImageRepository) -> None:  # noqa: F811
    for i in range(MAX_RUNS + 3):
        _claim(repo, f"{i:04d}", f"run-{i}")
    _claim(repo, f"{MAX_RUNS + 2:04d}", f"run-{MAX_RUNS + 2}")  # the same run claims again (a retried invoke)
    record = repo.get("img1")
    assert record is not None
    assert record["runs"] == [f"run-{i}" for i in range(3, MAX_RUNS + 3)]
    assert recent_runs(record)[0] == f"run-{MAX_RUNS + 2}"


def test_a_run_that_never_claimed_is_still_found(repo: ImageRepository) -> None:  # noqa: F811
    _claim(repo, "0001", "run-1")
    record = repo.get("img1")
    assert record is not None
    assert recent_runs({**record, "execution_arn": "run-2"}) == ["run-2", "run-1"]
    assert recent_runs({"execution_arn": "run-0"}) == ["run-0"]
