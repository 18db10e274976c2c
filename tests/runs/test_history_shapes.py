"""Timelines of Parallel branches, inline Map iterations and a Distributed Map, on moto's engine."""

from __future__ import annotations

import json
from typing import Any

from imgflow import keys
from imgflow.workflow.history import timeline
from imgflow_tools.local.cloud import ROLE_ARN, LocalCloud
from tests.support.waiting import wait_final

ITEM = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.item", "NumericEquals": 2, "Next": "Two"}],
            "Default": "Fine",
        },
        "Fine": {"Type": "Pass", "End": True},
        "Two": {"Type": "Fail", "Error": "ItemTwo", "Cause": "item 2 is refused"},
    },
}
MACHINE = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemSelector": {"item.$": "$$.Map.Item.Value"},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, **ITEM},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}],
            "ResultPath": "$.each",
            "Next": "Both",
        },
        "Recover": {"Type": "Pass", "Result": {"items": [1, 2, 3]}, "Next": "Distributed"},
        "Distributed": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemSelector": {"item.$": "$$.Map.Item.Value"},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                **ITEM,
            },
            "ResultPath": None,
            "Next": "Both",
        },
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": True}}},
                {
                    "StartAt": "Right",
                    "States": {"Right": {"Type": "Fail", "Error": "RightFailed", "Cause": "no"}},
                },
            ],
            "End": True,
        },
    },
}


def _run(cloud: LocalCloud, items: list[int]) -> dict[str, Any]:
    sfn = cloud.client("stepfunctions")
    name = f"shapes-{keys.new_image_id()}"
    arn = sfn.create_state_machine(name=name, definition=json.dumps(MACHINE), roleArn=ROLE_ARN)[
        "stateMachineArn"
    ]
    execution = sfn.start_execution(stateMachineArn=arn, name="x", input=json.dumps({"items": items}))
    wait_final(cloud, execution["executionArn"])
    return timeline(sfn, execution["executionArn"])


def test_map_iterations_parallel_branches_and_a_distributed_map(cloud: LocalCloud) -> None:
    run = _run(cloud, [1, 2, 3])
    rows = [(s["name"], s["parent"], s["iteration"], s["status"]) for s in run["states"]]
    top = [r[0] for r in rows if r[1] is None]
    assert top == ["Each", "Recover", "Distributed", "Both"]  # in the order they ran

    each = run["states"][0]
    assert each["status"] == "CAUGHT" and each["caught_by"] == "Recover" and each["iterations"] == 3
    assert each["error"] == {"error": "ItemTwo", "cause": "item 2 is refused"}
    inside = [r for r in rows if r[1] == "Each"]
    # Each iteration told apart (after item 2 fails, moto may not start the third: the Map is failing).
    checked = [r[2] for r in inside if r[0] == "Check"]
    assert 1 in checked and len(checked) == len(set(checked)) and set(checked) <= {0, 1, 2}
    assert [r[2:] for r in inside if r[0] == "Two"] == [(1, "FAILED")]
    assert {r[2] for r in inside if r[0] == "Fine"} <= set(checked) - {1}

    distributed = next(s for s in run["states"] if s["name"] == "Distributed")
    assert distributed["map_run"]["arn"].startswith("arn:aws:states:")
    assert distributed["map_run"].get("items", {}).get("total") in (None, 3)

    both = next(s for s in run["states"] if s["name"] == "Both")
    assert both["status"] == "FAILED" and both["error"]["error"] == "RightFailed"
    # moto may stop the Parallel before the Left branch records its exit once Right has failed.
    branches = {(r[0], r[3]) for r in rows if r[1] == "Both"}
    assert ("Right", "FAILED") in branches and branches <= {("Left", "SUCCEEDED"), ("Right", "FAILED")}
    assert (
        run["status"] == "FAILED" and run["error"]["error"] == "RightFailed" and run["final_state"] == "Both"
    )
