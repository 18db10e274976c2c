"""Pipeline version derivation, execution names and the reprocess input (no AWS)."""

from __future__ import annotations

import re

import pytest

from imgflow.config import DEFAULT_RENDITIONS, Limits, Rendition, Settings, pipeline_version
from imgflow.records import table as t
from tasks.reprocess import selection as sel
from tasks.reprocess.service import classify

NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


def test_the_pipeline_version_follows_the_spec_without_anyone_bumping_it() -> None:
    base = pipeline_version(DEFAULT_RENDITIONS, Limits())
    assert base == Settings().pipeline_version == pipeline_version(DEFAULT_RENDITIONS, Limits())
    assert re.fullmatch(r"[0-9a-f]{12}", base)
    changed = (*DEFAULT_RENDITIONS[:-1], Rendition("large", 2000))
    assert pipeline_version(changed, Limits()) != base
    assert pipeline_version(DEFAULT_RENDITIONS, Limits(max_pixels=10)) != base
    assert pipeline_version(DEFAULT_RENDITIONS, Limits(), ("JPEG",)) != base
    assert Settings(pipeline_version="pinned").pipeline_version == "pinned"


def test_other_versions_are_the_two_ranges_around_the_current_one() -> None:
    current = "5d1c0e2a9f00"
    keys = {
        v: t.status_sk(v, "2026-01-01T00:00:00.000Z", "id")
        for v in ("", "000001", "1", current, "5d1c0e2a9eff", "5d1c0e2a9f000", "ffffffffffff")
    }
    below, above = t.version_prefix(current), t.version_end(current)
    others = {v for v, sk in keys.items() if sk < below or sk >= above}
    assert others == set(keys) - {current}
    assert t.parse_status_sk(keys[current]) == (current, "2026-01-01T00:00:00.000Z")


def test_child_execution_names_are_deterministic_and_valid() -> None:
    run = sel.run_id("stale 2026-12-01T04:00:00Z / nightly")
    assert NAME.match(run) and len(run) <= sel.MAX_RUN_ID
    name = sel.child_name("01jd8t1x2y3z4a5b6c7d8e9f0g", "5d1c0e2a9f00", run)
    assert NAME.match(name) and name == sel.child_name("01jd8t1x2y3z4a5b6c7d8e9f0g", "5d1c0e2a9f00", run)
    long_run = sel.run_id("x" * 200)
    assert len(long_run) == sel.MAX_RUN_ID and long_run != sel.run_id("x" * 199)
    assert NAME.match(sel.child_name("x" * 60, "5d1c0e2a9f00", long_run))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "mode"),
        ({"mode": "everything"}, "mode"),
        ({"mode": "failed", "owner": "../x"}, "owner"),
        ({"mode": "failed", "since": "yesterday"}, "since"),
        ({"mode": "failed", "since": "2026-02-01", "until": "2026-01-01"}, "since is after until"),
        ({"mode": "stuck", "older_than_s": -1}, "older_than_s"),
        ({"mode": "all", "max_images": "10"}, "max_images"),
        ({"mode": "all", "max_images": 0}, "max_images must be an integer of at least 1"),
    ],
)
def test_a_bad_request_is_refused_with_its_reason(raw: dict[str, object], message: str) -> None:
    with pytest.raises(sel.InvalidReprocessRequest, match=message):
        sel.parse_request(raw, default_run_id="r")


def test_a_request_in_the_table_format() -> None:
    request = sel.Request.parse(
        {"mode": "stale", "since": "2026-01-02", "max_images": 5}, default_run_id="exec-1"
    )
    assert (request.since, request.until, request.run_id, request.max_images) == (
        "2026-01-02T00:00:00.000Z", None, "exec-1", 5,
    )  # fmt: skip


def test_outcomes_are_read_from_the_record() -> None:
    ingest = "arn:aws:states:us-east-1:1:stateMachine:imgflow-ingest"
    item = {"image_id": "i", "name": "i-v-r"}
    mine = "arn:aws:states:us-east-1:1:execution:imgflow-ingest:i-v-r"

    def outcome(**record: object) -> list[str]:
        return classify(item, dict(record) or None, ingest_arn=ingest, before="2026-01-02T00:00:00.000Z")

    late = "2026-01-03T00:00:00.000Z"
    assert outcome(execution_arn=mine, status="PROCESSED", claimed_at=late) == ["started", "succeeded"]
    assert outcome(execution_arn=mine, status="FAILED", claimed_at=late) == ["started", "failed"]
    assert outcome(execution_arn=mine, status="REJECTED", claimed_at="2026-01-01T00:00:00.000Z") == [
        "already_running",
        "rejected",
    ]
    assert outcome(execution_arn="another", status="PROCESSED") == ["skipped"]
    assert outcome() == ["skipped"]  # deleted


def test_a_run_too_large_for_one_manifest_continues_in_parts() -> None:
    assert sel.next_part("stale-nightly") == "stale-nightly-p2"
    assert sel.next_part("stale-nightly-p2") == "stale-nightly-p3"
    long = sel.run_id("x" * 40)
    assert len(sel.next_part(long)) <= sel.MAX_RUN_ID and sel.next_part(long).endswith("-p2")
