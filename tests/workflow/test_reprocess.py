"""statemachine/reprocess.asl.json on moto: repair (failed, stuck), upgrade (stale), restarts, delete races.

Each test works on images of an owner of its own (the ``owner`` filter: the by_owner index), so the
records other tests leave behind in the shared local stack do not count. Outcomes are read from the
records and from S3, like an operator would.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from api import service as api
from imgflow import config, keys
from imgflow.records import ImageRepository
from imgflow_tools.local import moto_adapter
from imgflow_tools.local.cloud import LocalCloud
from imgflow_tools.local.schedule import RepairSchedule
from imgflow_tools.ops import reprocess
from imgflow_tools.ops import stack as stacks
from tasks.reprocess.selection import child_name
from tests.support.cloud import put_upload
from tests.support.faults import Inject
from tests.support.images import jpeg_bytes
from tests.support.waiting import until, wait_final, wait_record


@pytest.fixture
def stack(cloud: LocalCloud) -> stacks.Stack:
    return stacks.local(cloud.endpoint, cloud.settings)


@pytest.fixture
def owner(request: pytest.FixtureRequest) -> str:
    return f"r{keys.new_image_id()[-10:]}-{request.node.name[5:30]}".replace("[", "-").replace("]", "")


def _repo(cloud: LocalCloud) -> ImageRepository:
    return ImageRepository(cloud.settings.table_name)


def _throttle(operation: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}, operation
    )


def _renditions_of(cloud: LocalCloud, owner: str) -> set[str]:
    pages = (
        cloud.client("s3")
        .get_paginator("list_objects_v2")
        .paginate(Bucket=cloud.settings.renditions_bucket, Prefix=f"{owner}/")
    )
    return {o["Key"] for p in pages for o in p.get("Contents", [])}


def _listed(records: list[dict[str, Any]]) -> set[str]:
    return {r["key"] for rec in records for r in rec.get("renditions") or []}


def _ingest_runs_of(cloud: LocalCloud, run_id: str) -> list[str]:
    return [e["name"] for e in cloud.executions() if e["name"].endswith(f"-{run_id}")]


def test_failed_images_end_processed_after_mode_failed(
    cloud: LocalCloud, stack: stacks.Stack, owner: str, aws_faults: Inject
) -> None:
    ids = [keys.new_image_id() for _ in range(5)]

    def fail_renditions(params: dict[str, Any], **_: Any) -> None:
        if params.get("Bucket") == cloud.settings.renditions_bucket and owner in params.get("Key", ""):
            raise _throttle("PutObject")

    remove = aws_faults("s3", "PutObject", fail_renditions)  # S3 keeps throttling renditions: retries run out
    for image_id in ids:
        put_upload(cloud, jpeg_bytes((320, 240)), owner=owner, image_id=image_id)
    failed = [wait_record(cloud, i) for i in ids]
    assert {r["status"] for r in failed} == {"FAILED"}
    assert _renditions_of(cloud, owner) == set()  # a failed run leaves none of its partial output
    remove()  # the outage has passed

    summary = reprocess.run(stack, {"mode": "failed", "owner": owner})
    assert "map_error" not in summary

    assert {k: summary[k] for k in reprocess.SUMMARY_KEYS} == {
        "selected": 5,
        "started": 5,
        "already_running": 0,
        "succeeded": 5,
        "rejected": 0,
        "failed": 0,
        "skipped": 0,
    }
    records = [_repo(cloud).get(i) for i in ids]
    assert {r["status"] for r in records if r} == {"PROCESSED"}
    for image_id, record in zip(ids, records, strict=True):
        assert record is not None
        name = child_name(image_id, cloud.settings.pipeline_version, summary["run_id"])
        assert record["execution_arn"].endswith(f":{name}")  # its own, inspectable run
    assert _renditions_of(cloud, owner) == _listed([r for r in records if r])
    again = reprocess.run(stack, {"mode": "failed", "owner": owner})
    assert again["selected"] == 0


def test_stuck_records_end_final_after_mode_stuck(
    cloud: LocalCloud, stack: stacks.Stack, owner: str, aws_faults: Inject
) -> None:
    repo = _repo(cloud)
    lost, never, dead = (keys.new_image_id() for _ in range(3))
    for image_id in (lost, never):
        repo.create_pending(
            image_id=image_id, owner=owner, filename="a.jpg", content_type="image/jpeg", size=1
        )

    # 1. The bus drops the upload event of `lost`: its original is there, its record stays PENDING.
    def drop(event: dict[str, Any], _target: str) -> None:
        if lost in event["detail"]["object"]["key"]:
            raise ConnectionError("injected: event dropped")

    injector_hook = moto_adapter.deliveries.before_delivery  # the fault injector's: put it back after
    moto_adapter.deliveries.before_delivery = drop
    try:
        put_upload(cloud, jpeg_bytes((200, 150)), owner=owner, image_id=lost)
    finally:
        moto_adapter.deliveries.before_delivery = injector_hook

    # 2. `dead`'s run dies before it can write any result (its finish writes fail, then it is stopped).
    def no_finish(params: dict[str, Any], **_: Any) -> None:
        if dead in json.dumps(params.get("Key", {})) and "finished_at" in json.dumps(params):
            raise ClientError({"Error": {"Code": "ValidationException", "Message": "injected"}}, "UpdateItem")

    remove = aws_faults("dynamodb", "UpdateItem", no_finish)
    try:
        put_upload(cloud, jpeg_bytes((200, 150)), owner=owner, image_id=dead)
        wait_final(cloud, until(lambda: (repo.get(dead) or {}).get("execution_arn"), what=f"{dead}'s claim"))
    finally:
        remove()
    assert repo.get(lost)["status"] == "PENDING"  # type: ignore[index]
    assert repo.get(dead)["status"] == "PROCESSING"  # type: ignore[index]

    summary = reprocess.run(stack, {"mode": "stuck", "owner": owner, "older_than_s": 0})

    assert (summary["selected"], summary["started"], summary["succeeded"], summary["expired"]) == (3, 2, 2, 1)
    assert repo.get(lost)["status"] == "PROCESSED"  # type: ignore[index]
    assert repo.get(dead)["status"] == "PROCESSED"  # type: ignore[index]
    expired = repo.get(never)
    assert expired is not None and expired["status"] == "EXPIRED" and expired["expires_at"] > time.time()
    assert api.get_image(owner, never, cloud.settings).status == "EXPIRED"  # visible as such in the API
    assert reprocess.run(stack, {"mode": "stuck", "owner": owner, "older_than_s": 0})["selected"] == 0


def test_a_run_stopped_midway_and_started_again_does_no_work_twice(
    cloud: LocalCloud,
    stack: stacks.Stack,
    owner: str,
    aws_faults: Inject,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    ids = [keys.new_image_id() for _ in range(8)]
    failing = threading.Event()
    failing.set()

    def fail_then_slow(params: dict[str, Any], **_: Any) -> None:
        if params.get("Bucket") == cloud.settings.renditions_bucket and owner in params.get("Key", ""):
            if failing.is_set():
                raise _throttle("PutObject")
            time.sleep(0.2)  # slow renditions: the reprocess run is still busy when it is stopped

    aws_faults("s3", "PutObject", fail_then_slow)
    for image_id in ids:
        put_upload(cloud, jpeg_bytes((160, 120)), owner=owner, image_id=image_id)
    assert {wait_record(cloud, i)["status"] for i in ids} == {"FAILED"}
    failing.clear()

    monkeypatch.setenv("IMGFLOW_REPROCESS_MAX_CONCURRENCY", "2")  # the Select task reads it
    config.settings.cache_clear()
    request.addfinalizer(config.settings.cache_clear)
    run_id = f"restart-{owner[:20]}"
    sfn = stack.client("stepfunctions")
    first = reprocess.start(stack, {"mode": "failed", "owner": owner, "run_id": run_id})
    deadline = time.monotonic() + 60
    while not _ingest_runs_of(cloud, run_id) and time.monotonic() < deadline:
        time.sleep(0.02)
    sfn.stop_execution(executionArn=first, cause="operator stopped it")
    assert wait_final(cloud, first)["status"] == "ABORTED"
    time.sleep(0.3)
    started_before = set(_ingest_runs_of(cloud, run_id))
    assert 0 < len(started_before) < len(ids)

    summary = reprocess.run(stack, {"mode": "failed", "owner": owner, "run_id": run_id})

    names = _ingest_runs_of(cloud, run_id)
    assert len(names) == len(set(names)) == len(ids)  # one execution per image, none started twice
    assert summary["already_running"] == len(started_before)
    assert summary["started"] == len(ids) - len(started_before)
    records = [_repo(cloud).get(i) for i in ids]
    for _ in range(200):  # the runs the first attempt started finish on their own
        if all(r and r["status"] == "PROCESSED" for r in records):
            break
        time.sleep(0.05)
        records = [_repo(cloud).get(i) for i in ids]
    assert {r["status"] for r in records if r} == {"PROCESSED"}


@pytest.fixture
def new_spec() -> Iterator[str]:
    """The rendition spec changes (as a deployment with another IMGFLOW_RENDITIONS would)."""
    old = os.environ.get("IMGFLOW_RENDITIONS")
    os.environ["IMGFLOW_RENDITIONS"] = json.dumps(
        [{"name": "small", "max_side": 48}, {"name": "card", "max_side": 96, "format": "WEBP"}]
    )
    config.settings.cache_clear()
    try:
        yield config.settings().pipeline_version
    finally:
        if old is None:
            os.environ.pop("IMGFLOW_RENDITIONS", None)
        else:
            os.environ["IMGFLOW_RENDITIONS"] = old
        config.settings.cache_clear()


@pytest.mark.slow
def test_stale_brings_every_image_to_the_new_spec_and_leaves_no_orphans(
    cloud: LocalCloud,
    stack: stacks.Stack,
    owner: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    count = 300
    # The ASL's task timeouts stretched as for a burst (300 runs share one process and its GIL, which AWS
    # never does), and bytes of their own (the same bytes would be exact duplicates, reused, not rendered).
    monkeypatch.setenv("IMGFLOW_LOCAL_TASK_TIMEOUT_SCALE", "10")
    ids = [put_upload(cloud, jpeg_bytes((128, 96)), owner=owner) for _ in range(count)]
    before = [wait_record(cloud, i, timeout=240) for i in ids]
    old_version = before[0]["pipeline_version"]
    assert {r["status"] for r in before} == {"PROCESSED"}
    assert {r["pipeline_version"] for r in before} == {old_version}

    new_version = request.getfixturevalue("new_spec")
    assert new_version != old_version  # derived from the spec: nobody bumped a number

    summary = reprocess.run(stack, {"mode": "stale", "owner": owner})

    assert (summary["selected"], summary["succeeded"], summary["failed"]) == (count, count, 0)
    after = [_repo(cloud).get(i) for i in ids]
    assert all(r and r["status"] == "PROCESSED" and r["pipeline_version"] == new_version for r in after)
    assert {tuple(x["name"] for x in r["renditions"]) for r in after if r} == {("small", "card")}
    assert _renditions_of(cloud, owner) == _listed([r for r in after if r])  # old ones gone, none orphaned
    assert reprocess.run(stack, {"mode": "stale", "owner": owner})["selected"] == 0


@pytest.mark.parametrize("moment", range(8))
def test_no_rendition_outlives_a_delete_that_races_the_run(
    cloud: LocalCloud, owner: str, aws_faults: Inject, moment: int
) -> None:
    """The delete comes before the 1st, 2nd, 3rd rendition, before the resize's own check, before the
    finish, or right after it: in every case nothing of the image stays in the renditions bucket."""
    image_id = keys.new_image_id()
    reached, resume = threading.Event(), threading.Event()
    calls = {"n": 0}

    def pause_at(point: int) -> Any:
        def hook(params: dict[str, Any], **_: Any) -> None:
            if image_id not in json.dumps(params, default=str):
                return
            calls["n"] += 1
            if calls["n"] == point and not reached.is_set():
                reached.set()
                resume.wait(20)

        return hook

    # Points 0-2: before each rendition PutObject; 3: the resize's GetItem; 4-5: before finish's UpdateItem
    # (twice: the delete stops the execution in one, not the other); 6-7: after the run finished.
    if moment <= 2:
        removers = [aws_faults("s3", "PutObject", pause_at(moment + 1))]
    elif moment == 3:
        removers = [aws_faults("dynamodb", "GetItem", pause_at(1))]
    elif moment in (4, 5):
        # the claim is the first UpdateItem, the finish the second
        removers = [aws_faults("dynamodb", "UpdateItem", pause_at(2))]
    else:
        removers = []
    started = datetime.now(UTC) - timedelta(seconds=1)
    try:
        put_upload(cloud, jpeg_bytes((1600, 1200)), owner=owner, image_id=image_id)  # 3 distinct renditions
        if moment >= 6:
            wait_record(cloud, image_id)
        else:
            assert reached.wait(30), "the run never reached the point of the race"
        api.delete_image(owner, image_id, cloud.settings)
        resume.set()
        deadline = time.monotonic() + 30
        for summary in cloud.executions():
            if summary["startDate"] < started:
                continue
            described = cloud.client("stepfunctions").describe_execution(executionArn=summary["executionArn"])
            if image_id in described["input"]:
                wait_final(cloud, summary["executionArn"])
        # A stopped execution's task still runs to its end in its thread (as a Lambda does in AWS).
        while _renditions_of(cloud, f"{owner}/{image_id}/") and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        resume.set()
        for remove in removers:
            remove()
    time.sleep(0.2)
    assert _renditions_of(cloud, f"{owner}/{image_id}/") == set()
    assert _repo(cloud).get(image_id)["status"] == "DELETED"  # type: ignore[index]


def test_serve_runs_the_repair_on_a_timer(cloud: LocalCloud) -> None:
    seen: list[dict[str, Any]] = []
    schedule = RepairSchedule(cloud.endpoint, 0.05, modes=("stuck",), on_summary=seen.append).start()
    try:
        deadline = time.monotonic() + 60
        while schedule.runs < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        schedule.stop()
    assert schedule.runs >= 2 and {s["mode"] for s in seen} == {"stuck"}
    assert RepairSchedule(cloud.endpoint, 0).start().runs == 0  # 0: off


def test_stale_larger_than_one_run_continues_as_new_until_nothing_is_stale(
    cloud: LocalCloud, stack: stacks.Stack, owner: str, request: pytest.FixtureRequest
) -> None:
    ids = [put_upload(cloud, jpeg_bytes((96, 72)), owner=owner) for _ in range(3)]
    for image_id in ids:
        wait_record(cloud, image_id)
    new_version = request.getfixturevalue("new_spec")

    first = reprocess.run(stack, {"mode": "stale", "owner": owner, "max_images": 2})

    assert (first["selected"], first["succeeded"], first["truncated"]) == (2, 2, True)
    sfn = stack.client("stepfunctions")
    arn = first["execution_arn"].rsplit(":", 1)[0] + ":" + first["continued_as"]
    assert reprocess.wait(stack, arn)["selected"] == 1  # the next part took the rest, then stopped
    assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
    assert {_repo(cloud).get(i)["pipeline_version"] for i in ids} == {new_version}  # type: ignore[index]
