"""The ingest definition's Retry/Catch: what is retried, how long, and where an exhausted write goes."""

from __future__ import annotations

import json
from typing import Any

from imgflow.workflow import asl
from tests.support.asl import task_states

DEFINITION = json.loads(asl.definition_text())
STATES = DEFINITION["States"]
TASKS = task_states(DEFINITION)
STORAGE = {"TransientError", "StorageThrottled"}
LAMBDA = {"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.TooManyRequestsException"}
#: Throttling has its own, patient Retry in every task (tests/unit/test_definition.py); caught like others.
THROTTLE = "Lambda.TooManyRequestsException"


def _transient_retrier(state: dict[str, Any]) -> dict[str, Any]:
    [retrier] = [r for r in state["Retry"] if set(r["ErrorEquals"]) >= STORAGE | LAMBDA - {THROTTLE}]
    return retrier


def _longest_wait_s(retrier: dict[str, Any]) -> float:
    """The most a retrier can wait in total (full jitter waits up to this, half of it on average)."""
    wait, total = float(retrier["IntervalSeconds"]), 0.0
    for _ in range(retrier["MaxAttempts"]):
        total += min(wait, retrier.get("MaxDelaySeconds", wait))
        wait *= retrier["BackoffRate"]
    return total


def test_every_task_touching_s3_or_dynamodb_retries_their_named_errors_with_full_jitter() -> None:
    assert set(TASKS) == {"Claim", "Validate", "Reuse", "Resize", "ExtractMeta", "RecordProcessed",
                          "RecordRejected", "RecordFailed"}  # fmt: skip
    for name, state in TASKS.items():
        retrier = _transient_retrier(state)
        assert retrier["JitterStrategy"] == "FULL" and retrier["BackoffRate"] >= 2, name
        assert retrier["MaxAttempts"] >= 6 and retrier["MaxDelaySeconds"] >= 30, name
        timeout = [r for r in state["Retry"] if r["ErrorEquals"] == ["States.Timeout"]]
        assert timeout and timeout[0]["MaxAttempts"] >= 1, name


def test_the_failure_record_is_retried_far_longer_than_the_work() -> None:
    work = max(_longest_wait_s(_transient_retrier(s)) for n, s in TASKS.items() if not n.startswith("Record"))
    finals = min(
        _longest_wait_s(_transient_retrier(STATES[n])) for n in ("RecordProcessed", "RecordRejected")
    )
    last_resort = _longest_wait_s(_transient_retrier(STATES["RecordFailed"]))
    assert work < finals < last_resort
    assert last_resort >= 10 * 60  # minutes of a DynamoDB outage, not seconds


def _catch(state: str, error: str) -> dict[str, Any]:
    """The Catch that takes ``error`` (the first that names it or States.ALL, as the engine picks)."""
    return next(c for c in STATES[state]["Catch"] if {error, "States.ALL"} & set(c["ErrorEquals"]))


def test_an_unwritable_claim_or_final_record_fails_the_execution_by_name_and_leaves_it_to_the_repair() -> (
    None
):
    for error in STORAGE | LAMBDA | {"States.Timeout"}:
        not_claimed = STATES[_catch("Claim", error)["Next"]]
        assert (not_claimed["Type"], not_claimed["Error"]) == ("Fail", "ClaimNotWritten"), error
        for state in ("RecordProcessed", "RecordRejected", "RecordFailed"):
            target = STATES[_catch(state, error)["Next"]]
            assert (target["Type"], target["Error"]) == ("Fail", "RecordNotWritten"), (state, error)
    # Anything else from the last resort fails by name too, never silently.
    assert STATES[_catch("RecordFailed", "States.ALL")["Next"]]["Error"] == "RecordNotWritten"
