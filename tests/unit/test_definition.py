"""statemachine/ingest.asl.json against the function specs it is deployed with."""

from __future__ import annotations

import json
from typing import Any

from imgflow.errors import REJECTIONS
from imgflow.workflow import asl
from imgflow.workflow.functions import TASKS
from tests.support.asl import task_states

DEFINITION = json.loads(asl.definition_text())
BY_PLACEHOLDER = {f"${{{spec.placeholder}}}": spec for spec in TASKS}


def test_every_task_state_waits_at_least_as_long_as_its_function_may_run() -> None:
    for name, state in task_states(DEFINITION).items():
        spec = BY_PLACEHOLDER[state["Parameters"]["FunctionName"]]
        assert state["TimeoutSeconds"] >= spec.timeout_s, name


def test_every_rejection_is_caught_as_a_rejection_and_never_retried() -> None:
    validate = DEFINITION["States"]["Validate"]
    [rejections] = [c for c in validate["Catch"] if c["Next"] == "RecordRejected"]
    assert set(rejections["ErrorEquals"]) == set(REJECTIONS)
    retried = {name for retrier in validate["Retry"] for name in retrier["ErrorEquals"]}
    assert retried.isdisjoint(REJECTIONS) and "States.ALL" not in retried


def test_every_task_retries_transient_lambda_errors_with_jitter() -> None:
    transient = {"Lambda.ServiceException", "StorageThrottled"}
    for name, state in task_states(DEFINITION).items():
        [retrier] = [r for r in state["Retry"] if transient <= set(r["ErrorEquals"])]
        assert retrier["JitterStrategy"] == "FULL" and retrier["BackoffRate"] > 1, name


def _waits(retrier: dict[str, Any]) -> list[float]:
    """The cap of each retry wait (full jitter draws uniformly below it)."""
    interval, rate = retrier["IntervalSeconds"], retrier["BackoffRate"]
    return [min(interval * rate**k, retrier["MaxDelaySeconds"]) for k in range(retrier["MaxAttempts"])]


def test_every_task_waits_out_lambda_throttling_patiently() -> None:
    # A burst queues on the image tasks' reserved concurrency: a throttled invocation has its own Retry, first
    # (the first matching retrier wins), patient enough for a backlog of minutes (docs/operations.md), and
    # its worst case stays inside the execution's 30-minute timeout (infra/constructs/workflow.py).
    for name, state in task_states(DEFINITION).items():
        throttle = state["Retry"][0]
        assert throttle["ErrorEquals"] == ["Lambda.TooManyRequestsException"], name
        assert throttle["JitterStrategy"] == "FULL", name
        waits = _waits(throttle)
        assert sum(waits) / 2 >= 600, f"{name}: mean patience {sum(waits) / 2:.0f} s"
        assert sum(waits) <= 30 * 60, f"{name}: worst case {sum(waits):.0f} s"
        others = {error for retrier in state["Retry"][1:] for error in retrier["ErrorEquals"]}
        assert "Lambda.TooManyRequestsException" not in others, name
