"""The timeline from history events as AWS writes them (direct Lambda ARNs, a Catch without an exit event)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from imgflow.workflow.history import parse

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _events(*specs: tuple[str, int, dict[str, Any]]) -> list[dict[str, Any]]:
    events = []
    for i, (kind, prev, details) in enumerate(specs, start=1):
        event = {"id": i, "previousEventId": prev, "type": kind, "timestamp": T0 + timedelta(seconds=i)}
        event.update(details)
        events.append(event)
    return events


def _entered(name: str) -> dict[str, Any]:
    return {"stateEnteredEventDetails": {"name": name, "input": "{}"}}


def _exited(name: str) -> dict[str, Any]:
    return {"stateExitedEventDetails": {"name": name, "output": "{}"}}


def _failed(error: str, cause: str) -> dict[str, Any]:
    return {"lambdaFunctionFailedEventDetails": {"error": error, "cause": cause}}


def test_lambda_events_retries_and_a_catch_without_exit() -> None:
    events = _events(
        ("ExecutionStarted", 0, {"executionStartedEventDetails": {"input": '{"image_id": "img1"}'}}),
        ("TaskStateEntered", 1, _entered("Work")),
        ("LambdaFunctionScheduled", 2, {}),
        ("LambdaFunctionStarted", 3, {}),
        ("LambdaFunctionFailed", 4, _failed("TransientError", '{"errorMessage": "try again"}')),
        ("LambdaFunctionScheduled", 5, {}),
        ("LambdaFunctionStarted", 6, {}),
        (
            "LambdaFunctionFailed",
            7,
            _failed("CorruptImage", '{"errorMessage": "bad bytes", "stackTrace": []}'),
        ),
        ("TaskStateEntered", 8, _entered("Handle")),  # AWS-style: the Catch's target right after the failure
        ("TaskStateExited", 9, _exited("Handle")),
        ("SucceedStateEntered", 10, _entered("Done")),
        ("SucceedStateExited", 11, _exited("Done")),
        ("ExecutionSucceeded", 12, {"executionSucceededEventDetails": {"output": "{}"}}),
    )
    execution = {
        "executionArn": "arn:aws:states:eu-west-1:1:execution:m:run1",
        "status": "SUCCEEDED",
        "input": '{"image_id": "img1"}',
        "startDate": T0,
        "stopDate": T0 + timedelta(seconds=13),
    }
    run = parse(list(reversed(events)), execution)  # order of the pages does not matter

    assert [s["name"] for s in run["states"]] == ["Work", "Handle", "Done"]
    work = run["states"][0]
    assert (work["status"], work["caught_by"], work["attempts"]) == ("CAUGHT", "Handle", 2)
    assert work["retries"] == [
        {"error": "TransientError", "cause": "try again", "at": work["retries"][0]["at"]}
    ]
    assert (work["error"]["error"], work["error"]["cause"]) == ("CorruptImage", "bad bytes")  # not the stack
    assert (run["image_id"], run["duration_s"], run["final_state"], run["retries"]) == (
        "img1",
        13.0,
        "Done",
        1,
    )
