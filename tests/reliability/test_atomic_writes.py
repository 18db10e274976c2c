"""Conditional writes are atomic in the local DynamoDB (moto_adapter section 5), so the duplicate guard of
``Claim`` can be checked under real concurrency."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto.dynamodb.exceptions import ConditionalCheckFailed

from imgflow import keys
from imgflow.errors import DuplicateRun
from imgflow.records import ImageRepository
from imgflow_tools.local import moto_adapter
from imgflow_tools.local.cloud import ACCOUNT, REGION, LocalCloud
from tests.support.cloud import entered_states, executions_for, history, put_upload
from tests.support.images import jpeg_bytes
from tests.support.waiting import wait_final

CLAIMANTS = 4


@pytest.fixture
def busy_switching() -> Iterator[None]:
    """Switch threads far more often than the default 5 ms, so races show within a few trials."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def _race(calls: list[Callable[[], Any]], lost: type[Exception]) -> int:
    """Run ``calls`` at the same moment; how many did not lose (raise ``lost``)."""
    barrier = threading.Barrier(len(calls))
    won: list[bool] = []

    def run(call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            call()
            won.append(True)
        except lost:
            won.append(False)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(won)


def _backend_claims(cloud: LocalCloud, update_item: Callable[..., Any]) -> list[Callable[[], Any]]:
    """CLAIMANTS calls of the backend's update_item, each the claim condition of a different execution."""
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[ACCOUNT][REGION]
    image_id = keys.new_image_id()
    key = {"pk": {"S": f"IMG#{image_id}"}, "sk": {"S": "IMAGE"}}

    def claim(n: int) -> Callable[[], Any]:
        return lambda: update_item(
            backend,
            table_name=cloud.settings.table_name,
            key=key,
            update_expression="SET seq = :seq, execution_arn = :exec, #st = :st",
            expression_attribute_names={"#st": "status"},
            expression_attribute_values={
                ":seq": {"S": "0001"},
                ":exec": {"S": f"exec-{n}"},
                ":st": {"S": "X"},
            },
            condition_expression="attribute_not_exists(seq) OR seq < :seq OR execution_arn = :exec",
        )

    return [claim(n) for n in range(CLAIMANTS)]


def test_upstream_conditional_update_is_not_atomic(cloud: LocalCloud, busy_switching: None) -> None:
    upstream = moto_adapter.UPSTREAM["dynamodb_update_item"]
    winners = [_race(_backend_claims(cloud, upstream), ConditionalCheckFailed) for _ in range(40)]
    assert max(winners) > 1, "moto now applies conditions atomically: drop section 5 of the adapter"


def test_the_adapted_conditional_update_has_one_winner(cloud: LocalCloud, busy_switching: None) -> None:
    from moto.dynamodb.models import DynamoDBBackend

    adapted = DynamoDBBackend.update_item
    assert getattr(adapted, "__imgflow_atomic__", False)
    winners = [_race(_backend_claims(cloud, adapted), ConditionalCheckFailed) for _ in range(40)]
    assert winners == [1] * 40


def test_concurrent_claims_of_one_upload_have_one_winner(cloud: LocalCloud, busy_switching: None) -> None:
    repo = ImageRepository(cloud.settings.table_name)

    def claim(image_id: str, n: int) -> Callable[[], None]:
        return lambda: repo.claim(
            image_id=image_id,
            owner="racer",
            bucket=cloud.settings.uploads_bucket,
            key=keys.upload_key("racer", image_id),
            sequencer="00000000000000010000AA",
            execution_arn=f"exec-{n}",
            pipeline_version=1,
        )

    for _ in range(10):
        image_id = keys.new_image_id()
        assert _race([claim(image_id, n) for n in range(CLAIMANTS)], DuplicateRun) == 1


def test_an_event_delivered_four_times_at_once_is_processed_once(cloud: LocalCloud) -> None:
    image_id = put_upload(cloud, jpeg_bytes(), owner="racer")
    [first] = executions_for(cloud, image_id)
    first = wait_final(cloud, first["executionArn"])
    event = json.loads(first["input"])
    # Forget the first run's claim, then deliver the same event to CLAIMANTS runs at the same moment.
    ImageRepository(cloud.settings.table_name).client.delete_item(
        TableName=cloud.settings.table_name, Key={"pk": {"S": f"IMG#{image_id}"}, "sk": {"S": "IMAGE"}}
    )
    barrier = threading.Barrier(CLAIMANTS)

    def deliver() -> None:
        barrier.wait()
        moto_adapter.put_event(ACCOUNT, REGION, event)

    threads = [threading.Thread(target=deliver) for _ in range(CLAIMANTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    runs = [wait_final(cloud, r["executionArn"]) for r in executions_for(cloud, image_id)]
    later = [r for r in runs if r["executionArn"] != first["executionArn"]]
    paths = sorted(entered_states(history(cloud, r["executionArn"]))[-1] for r in later)

    assert len(later) == CLAIMANTS
    assert paths == ["Duplicate"] * (CLAIMANTS - 1) + ["Processed"]
    record = ImageRepository(cloud.settings.table_name).get(image_id)
    assert record["status"] == "PROCESSED" and record["execution_arn"] in {r["executionArn"] for r in later}
