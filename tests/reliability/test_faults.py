"""The local fault injector (imgflow_tools/local/faults.py): each fault kind, as AWS produces it, seeded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

from imgflow import keys
from imgflow.records import ImageRepository
from imgflow_tools.local import faults, moto_adapter
from imgflow_tools.local.cloud import REGION, LocalCloud
from imgflow_tools.local.faults import FaultSpec, FaultSpecError
from tests.support.cloud import entered_states, executions_for, failed_tasks, history, put_upload
from tests.support.images import jpeg_bytes
from tests.support.serve import operator_call
from tests.support.waiting import wait_final, wait_record


@pytest.fixture
def injector(cloud: LocalCloud) -> Iterator[faults.FaultInjector]:
    """The process's injector, switched off again after the test."""
    yield faults.injector
    faults.injector.configure(FaultSpec())


@pytest.fixture
def in_task() -> Iterator[None]:
    """Make this thread's AWS calls count as task code's (as inside an in-process Lambda handler)."""
    moto_adapter._invocation.function = "imgflow-test"
    yield
    moto_adapter._invocation.function = None


def _force(monkeypatch: pytest.MonkeyPatch, injector: faults.FaultInjector, *variants: str) -> list[str]:
    """Make the injector pick ``variants`` in turn (then switch itself off); returns the picks made."""
    picked: list[str] = []
    statuses = {name: status for mix in [*faults._STORAGE_FAILURES.values(), faults._LAMBDA_FAILURES]
                for name, status, _ in mix}  # fmt: skip

    def pick(rng: Any, mix: Any) -> tuple[str, int]:
        variant = variants[len(picked)]
        picked.append(variant)
        if len(picked) == len(variants):
            injector.configure(FaultSpec())
        return variant, statuses[variant]

    monkeypatch.setattr(injector, "_pick", pick)
    return picked


def _client(cloud: LocalCloud, service: str, attempts: int = 1) -> Any:
    return boto3.session.Session().client(
        service,
        endpoint_url=cloud.endpoint,
        region_name=REGION,
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}),
    )


# -- the setting ----------------------------------------------------------------------------------------
def test_the_setting_reads_every_kind_and_the_seed() -> None:
    spec = FaultSpec.parse("s3=0.2,dynamodb=0.2,lambda=0.1,drop=0.05,dup=0.3,seed=7")
    assert spec.rates == {"s3": 0.2, "dynamodb": 0.2, "lambda": 0.1, "drop": 0.05, "dup": 0.3}
    assert spec.seed == 7 and spec.active
    assert FaultSpec.parse(str(spec)) == spec
    assert FaultSpec.parse("s3=0.5", seed=3).seed == 3
    assert not FaultSpec.parse("").active and not FaultSpec.parse("off").active and str(FaultSpec()) == "off"


@pytest.mark.parametrize("bad", ["s3=2", "disk=0.1", "s3", "s3=lots"])
def test_a_bad_setting_is_refused_with_its_part(bad: str) -> None:
    with pytest.raises(FaultSpecError, match=bad.split("=")[0]):
        FaultSpec.parse(bad)


def test_off_by_default_and_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMGFLOW_FAULTS", raising=False)
    assert not FaultSpec.from_env().active
    monkeypatch.setenv("IMGFLOW_FAULTS", "dynamodb=0.25")
    monkeypatch.setenv("IMGFLOW_FAULTS_SEED", "11")
    assert FaultSpec.from_env() == FaultSpec({"dynamodb": 0.25}, 11)


def test_decisions_repeat_with_the_seed() -> None:
    def decisions(seed: int) -> list[bool]:
        injector = faults.FaultInjector()
        injector.configure(FaultSpec({"dynamodb": 0.3, "drop": 0.5}, seed))
        return [injector._draw("dynamodb") is not None for _ in range(200)] + [
            injector._draw("drop") is not None for _ in range(50)
        ]

    first = decisions(7)
    assert first == decisions(7)
    assert first != decisions(8)
    assert 35 <= sum(first[:200]) <= 85  # about 30% of 200


# -- S3 and DynamoDB -------------------------------------------------------------------------------------
def _put_item(cloud: LocalCloud, client: Any, image_id: str) -> None:
    client.put_item(
        TableName=cloud.settings.table_name, Item={"pk": {"S": f"IMG#{image_id}"}, "sk": {"S": "IMAGE"}}
    )


def _item_exists(cloud: LocalCloud, image_id: str) -> bool:
    return ImageRepository(cloud.settings.table_name).get(image_id) is not None


@pytest.mark.parametrize(("variant", "status"), [(v, s) for v, s, _ in faults._STORAGE_FAILURES["dynamodb"]])
def test_dynamodb_fails_as_dynamodb_does(
    cloud: LocalCloud, injector: faults.FaultInjector, in_task: None, monkeypatch: pytest.MonkeyPatch,
    variant: str, status: int,
) -> None:  # fmt: skip
    injector.configure(FaultSpec({"dynamodb": 1.0}))
    _force(monkeypatch, injector, variant)
    image_id = keys.new_image_id()
    code = variant.rpartition(":")[2]
    if code == "timeout":
        with pytest.raises(ReadTimeoutError):
            _put_item(cloud, _client(cloud, "dynamodb"), image_id)
    else:
        with pytest.raises(ClientError) as raised:
            _put_item(cloud, _client(cloud, "dynamodb"), image_id)
        error = raised.value.response
        assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (code, status)
    assert _item_exists(cloud, image_id) == variant.startswith("applied:")  # written, answer lost


@pytest.mark.parametrize(("variant", "status"), [(v, s) for v, s, _ in faults._STORAGE_FAILURES["s3"]])
def test_s3_fails_as_s3_does(
    cloud: LocalCloud, injector: faults.FaultInjector, in_task: None, monkeypatch: pytest.MonkeyPatch,
    variant: str, status: int,
) -> None:  # fmt: skip
    injector.configure(FaultSpec({"s3": 1.0}))
    _force(monkeypatch, injector, variant)
    key = f"faults/{keys.new_image_id()}"
    code = variant.rpartition(":")[2]
    s3 = _client(cloud, "s3")
    if code == "timeout":
        with pytest.raises(ReadTimeoutError):
            s3.put_object(Bucket=cloud.settings.renditions_bucket, Key=key, Body=b"x")
    else:
        with pytest.raises(ClientError) as raised:
            s3.put_object(Bucket=cloud.settings.renditions_bucket, Key=key, Body=b"x")
        error = raised.value.response
        assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (code, status)
    listed = cloud.client("s3").list_objects_v2(Bucket=cloud.settings.renditions_bucket, Prefix=key)
    assert (listed["KeyCount"] == 1) == variant.startswith("applied:")


def test_botocore_retries_absorb_most_faults_as_in_aws(
    cloud: LocalCloud, injector: faults.FaultInjector, in_task: None
) -> None:
    injector.configure(FaultSpec({"dynamodb": 0.2}, seed=5))
    before = sum(injector.injected.values())
    client = _client(cloud, "dynamodb", attempts=3)
    ok = failed = 0
    for _ in range(60):
        try:
            client.get_item(TableName=cloud.settings.table_name, Key={"pk": {"S": "x"}, "sk": {"S": "y"}})
            ok += 1
        except (ClientError, ReadTimeoutError):
            failed += 1
    assert sum(injector.injected.values()) - before >= 5  # about 12 of ~70 attempts
    assert failed <= 3 and ok + failed == 60  # 0.2^3 = 0.8% of calls fail after botocore's 3 attempts


def test_only_task_code_gets_faults(cloud: LocalCloud, injector: faults.FaultInjector) -> None:
    injector.configure(FaultSpec({"dynamodb": 1.0, "s3": 1.0}))
    before = sum(injector.injected.values())
    client = _client(cloud, "dynamodb")  # this thread runs no handler: an operator's or the API's call
    client.get_item(TableName=cloud.settings.table_name, Key={"pk": {"S": "x"}, "sk": {"S": "y"}})
    _client(cloud, "s3").list_objects_v2(Bucket=cloud.settings.uploads_bucket)
    assert sum(injector.injected.values()) == before


# -- Lambda ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("variant", "error", "handler_runs"),
    [
        ("ServiceException", "Lambda.ServiceException", 1),
        ("TooManyRequestsException", "Lambda.TooManyRequestsException", 1),
        ("applied:ServiceException", "Lambda.ServiceException", 2),  # ran, its answer lost, ran again
    ],
)
def test_lambda_service_errors_reach_the_workflow_by_their_names(
    cloud: LocalCloud, injector: faults.FaultInjector, monkeypatch: pytest.MonkeyPatch,
    variant: str, error: str, handler_runs: int,
) -> None:  # fmt: skip
    runs: list[str] = []
    count: Callable[[], None] = lambda: runs.append("ran")  # noqa: E731
    moto_adapter.after_invoke.append(count)
    try:
        injector.configure(FaultSpec({"lambda": 1.0}))
        _force(monkeypatch, injector, variant)  # the first invocation (Claim) fails, then faults are off
        image_id = put_upload(cloud, jpeg_bytes())
        record = wait_record(cloud, image_id)
    finally:
        moto_adapter.after_invoke.remove(count)
    events = history(cloud, record["execution_arn"])
    assert record["status"] == "PROCESSED"
    assert failed_tasks(events) == [error]
    assert entered_states(events)[:2] == ["Claim", "Validate"]
    # + Validate, Resize, ExtractMeta, RecordProcessed (at least: a late run of an earlier test may add some)
    assert len(runs) >= handler_runs + 4


# -- events ---------------------------------------------------------------------------------------------
def test_a_dropped_event_starts_nothing(cloud: LocalCloud, injector: faults.FaultInjector) -> None:
    injector.configure(FaultSpec({"drop": 1.0}))
    before = moto_adapter.deliveries.dropped
    image_id = put_upload(cloud, jpeg_bytes())
    injector.configure(FaultSpec())
    assert moto_adapter.deliveries.dropped == before + 1
    assert executions_for(cloud, image_id) == []


def test_a_duplicated_event_runs_twice_and_records_once(
    cloud: LocalCloud, injector: faults.FaultInjector
) -> None:
    injector.configure(FaultSpec({"dup": 1.0}, max_delay_s=0.2))
    image_id = put_upload(cloud, jpeg_bytes())
    injector.configure(FaultSpec())
    deadline = time.monotonic() + 30
    while len(executions_for(cloud, image_id)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    runs = [wait_final(cloud, r["executionArn"]) for r in executions_for(cloud, image_id)]
    ends = sorted(entered_states(history(cloud, r["executionArn"]))[-1] for r in runs)
    assert ends == ["Duplicate", "Processed"]
    assert wait_record(cloud, image_id)["status"] == "PROCESSED"


def test_delayed_events_are_delivered_late_and_out_of_order(
    cloud: LocalCloud, injector: faults.FaultInjector
) -> None:
    injector.configure(FaultSpec({"delay": 1.0}, max_delay_s=6.0, seed=3))  # seed 3 draws 0.80: 4.8 s
    first = put_upload(cloud, jpeg_bytes())  # delayed
    injector.configure(FaultSpec())
    second = put_upload(cloud, jpeg_bytes())  # on time
    assert executions_for(cloud, first) == [] and len(executions_for(cloud, second)) == 1
    deadline = time.monotonic() + 30
    while not executions_for(cloud, first) and time.monotonic() < deadline:
        time.sleep(0.05)
    [late], [on_time] = executions_for(cloud, first), executions_for(cloud, second)
    assert late["startDate"] > on_time["startDate"]
    assert injector.stats()["deliveries_in_flight"] == 0


# -- switching at run time -------------------------------------------------------------------------------
def test_the_control_route_switches_faults_while_the_stack_runs(
    cloud: LocalCloud, injector: faults.FaultInjector
) -> None:
    state = faults.set_remote(cloud.endpoint, "s3=0.2,dynamodb=0.1", seed=9)
    assert (state["spec"], state["active"]) == ("s3=0.2,dynamodb=0.1,seed=9", True)
    assert injector.spec == FaultSpec({"s3": 0.2, "dynamodb": 0.1}, 9)
    assert faults.get_remote(cloud.endpoint)["spec"] == "s3=0.2,dynamodb=0.1,seed=9"
    unsigned = requests.put(cloud.endpoint + faults.CONTROL_PATH, json={"spec": "off"}, timeout=10)
    assert unsigned.status_code == 403 and injector.spec.active  # the route needs the operator's signature
    bad = operator_call("PUT", cloud.endpoint + faults.CONTROL_PATH, {"spec": "s3=9"})
    assert bad.status_code == 400 and "s3" in bad.json()["message"]
    assert faults.set_remote(cloud.endpoint, "off")["active"] is False
    assert not injector.spec.active


def test_concurrent_draws_keep_the_rate(injector: faults.FaultInjector) -> None:
    injector.configure(FaultSpec({"s3": 0.25}, seed=1))
    hits: list[bool] = []

    def draw() -> None:
        for _ in range(500):
            hits.append(injector._draw("s3") is not None)

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(hits) == 2000 and 400 <= sum(hits) <= 600
