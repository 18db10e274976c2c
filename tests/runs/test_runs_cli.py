"""`imgflow runs` and `runs show` on real executions of the local stack: retried, rejected, failed.

Failures are injected at the AWS boundary of the handlers (botocore events), as an outage would look.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from imgflow import keys
from imgflow.workflow import asl, asl_graph
from imgflow_tools.cli import main
from imgflow_tools.local.cloud import LocalCloud
from tests.support import faults
from tests.support.asl import branch_parents, default_path
from tests.support.cloud import put_upload
from tests.support.images import jpeg_bytes
from tests.support.waiting import wait_record

DEFINITION = json.loads(asl.definition_text())
THROTTLED = ClientError(
    {"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}, "PutObject"
)


@pytest.fixture(scope="module")
def images(cloud: LocalCloud) -> Iterator[dict[str, dict[str, Any]]]:
    """Three images through the workflow: one retried then processed, one rejected, one failed."""
    retried, failed = keys.new_image_id(), keys.new_image_id()
    throttled = {"n": 0}

    def outage(params: dict[str, Any], **_: Any) -> None:
        key = params.get("Key", "")
        if failed in key:
            raise THROTTLED
        if retried in key and throttled["n"] == 0:
            throttled["n"] += 1
            raise THROTTLED

    with faults.injecting() as inject:  # the outage lasts while the module's tests run
        inject("s3", "PutObject", outage)
        # Bytes of their own each: the same bytes twice would make the second a duplicate (Reuse, no resize).
        put_upload(cloud, jpeg_bytes((800, 600)), image_id=retried)
        put_upload(cloud, jpeg_bytes((800, 600)), image_id=failed)
        data = jpeg_bytes((800, 600))
        rejected = put_upload(cloud, data[: len(data) // 2])
        yield {
            "retried": wait_record(cloud, retried),
            "rejected": wait_record(cloud, rejected),
            "failed": wait_record(cloud, failed),
        }


def _max_retries(state: str, error: str) -> int:
    """What the ASL file allows (read from it, so a change of policy does not break this test)."""
    node = next(s for s in asl_graph.workflow_graph()["states"] if s["name"] == state)
    return int(next(r["max_attempts"] for r in node["retry"] if error in r["errors"]))


def imgflow(cloud: LocalCloud, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["runs", *args, "--endpoint", cloud.endpoint])
    out, err = capsys.readouterr()
    return code, out, err


def show(cloud: LocalCloud, capsys: pytest.CaptureFixture[str], target: str) -> dict[str, Any]:
    code, out, err = imgflow(cloud, capsys, "show", target, "--json")
    assert code == 0, err
    return dict(json.loads(out))


def test_show_a_retried_run_state_by_state(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str], images: dict[str, dict[str, Any]]
) -> None:
    image = images["retried"]
    run = show(cloud, capsys, image["image_id"])

    assert (run["execution_arn"], run["status"], run["image_id"]) == (
        image["execution_arn"],
        "SUCCEEDED",
        image["image_id"],
    )
    names = [s["name"] for s in run["states"]]
    top = [s["name"] for s in run["states"] if s["parent"] is None]
    assert top == default_path(DEFINITION)  # not a duplicate: Known takes its Default, Process
    nested = {s["name"]: s["parent"] for s in run["states"] if s["parent"]}
    assert nested == branch_parents(DEFINITION)
    for name, parent in nested.items():  # listed right after their parent, before the next top-level state
        assert names.index(parent) < names.index(name) < names.index(top[top.index(parent) + 1])
    states = {s["name"]: s for s in run["states"]}
    resize = states["Resize"]
    assert resize["parent"] == "Process" and resize["status"] == "SUCCEEDED"
    assert [r["error"] for r in resize["retries"]] == ["StorageThrottled"] and resize["attempts"] == 2
    assert "SlowDown" in resize["retries"][0]["cause"]
    assert resize["error"] is None and run["retries"] == 1 and run["final_state"] == "Processed"
    starts = [s["started_at"] for s in run["states"] if s["parent"] is None]
    assert starts == sorted(starts)
    assert all(s["duration_s"] is not None and s["duration_s"] >= 0 for s in run["states"])
    assert run["duration_s"] >= sum(states[n]["duration_s"] for n in ("Claim", "Validate", "Process")) - 0.01
    assert run["record"]["status"] == "PROCESSED"
    assert '"image"' in states["Validate"]["input"]  # the state's input, trimmed JSON text


def test_show_a_rejected_run(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str], images: dict[str, dict[str, Any]]
) -> None:
    run = show(cloud, capsys, images["rejected"]["execution_arn"])

    assert run["status"] == "SUCCEEDED" and run["final_state"] == "Rejected"
    assert [s["name"] for s in run["states"]] == ["Claim", "Validate", "RecordRejected", "Rejected"]
    validate = run["states"][1]
    assert validate["status"] == "CAUGHT" and validate["caught_by"] == "RecordRejected"
    assert validate["error"]["error"] == "TruncatedImage" and validate["retries"] == []  # never retried
    assert "truncated" in validate["error"]["cause"]
    assert run["record"]["status"] == "REJECTED" and run["record"]["reason"] == "truncated"


def test_show_a_failed_run(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str], images: dict[str, dict[str, Any]]
) -> None:
    run = show(cloud, capsys, images["failed"]["image_id"])

    assert run["status"] == "FAILED" and run["error"]["error"] == "StorageThrottled"
    states = {s["name"]: s for s in run["states"]}
    retries = _max_retries("Resize", "StorageThrottled")
    assert [r["error"] for r in states["Resize"]["retries"]] == ["StorageThrottled"] * retries
    assert states["Resize"]["attempts"] == retries + 1
    assert states["Resize"]["status"] == "FAILED" and states["Resize"]["error"]["error"] == "StorageThrottled"
    assert states["Process"]["status"] == "CAUGHT" and states["Process"]["caught_by"] == "RecordFailed"
    assert states["ExtractMeta"]["status"] == "SUCCEEDED"
    assert [s["name"] for s in run["states"]][-2:] == ["RecordFailed", "Failed"]
    assert states["Failed"]["status"] == "FAILED" and states["Failed"]["error"]["error"] == "StorageThrottled"
    assert run["record"]["status"] == "FAILED"


def test_show_for_people(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str], images: dict[str, dict[str, Any]]
) -> None:
    code, out, _ = imgflow(cloud, capsys, "show", images["retried"]["image_id"])
    assert code == 0
    assert "retried 1x (StorageThrottled)" in out and "  Resize" in out  # nested under Process
    assert "image record PROCESSED" in out
    code, out, _ = imgflow(cloud, capsys, "show", images["rejected"]["execution_arn"])
    assert "TruncatedImage" in out and "caught -> RecordRejected" in out


def test_list_filters_by_status_and_image(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str], images: dict[str, dict[str, Any]]
) -> None:
    code, out, err = imgflow(cloud, capsys, "--status", "FAILED", "--limit", "2", "--json")
    assert code == 0, err
    failed = [json.loads(line) for line in out.splitlines()]
    assert images["failed"]["execution_arn"] in {r["execution_arn"] for r in failed}
    assert {r["status"] for r in failed} == {"FAILED"}
    row = next(r for r in failed if r["execution_arn"] == images["failed"]["execution_arn"])
    assert (row["image_id"], row["final_state"], row["retries"]) == (
        images["failed"]["image_id"],
        "Failed",
        _max_retries("Resize", "StorageThrottled"),
    )

    code, out, _ = imgflow(cloud, capsys, "--image", images["rejected"]["image_id"], "--json")
    assert [json.loads(line)["final_state"] for line in out.splitlines()] == ["Rejected"]

    code, out, _ = imgflow(cloud, capsys, "--limit", "3")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:3] == ["started", "(UTC)", "status"] and len(lines) == 4


def test_an_unknown_target_gets_one_line(cloud: LocalCloud, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = imgflow(cloud, capsys, "show", "no-such-thing")
    assert code == 1 and err.count("\n") == 1 and "neither an image id" in err
    code, _, err = imgflow(cloud, capsys, "--image", keys.new_image_id())
    assert code == 1 and err.startswith("imgflow runs: no image ")


def test_stack_options_work_before_and_after_show() -> None:
    from imgflow_tools.cli import _parser

    for argv in (["runs", "--endpoint", "E", "show", "X"], ["runs", "show", "X", "--endpoint", "E"]):
        args = _parser().parse_args(argv)
        assert (args.endpoint, args.target, args.runs_command) == ("E", "X", "show"), argv
