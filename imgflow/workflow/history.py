"""An execution's timeline, read from its Step Functions history: what each state did, in the order it ran.

Works on the events of ``GetExecutionHistory`` as AWS and moto return them. Events are tied together by
``previousEventId``: a state's own events follow each other, a branch of a Parallel starts from its
``ParallelStateStarted``, a Map iteration from its ``MapIterationStarted``. So concurrent branches and
iterations with the same state names are told apart, and each nested state names its Parallel/Map.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from imgflow.errors import lambda_error_message

#: Characters of a state's input/output kept (the whole text is in the execution history).
TRIM = 600
#: Characters of an error's cause kept.
CAUSE_TRIM = 500
FINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")

_ATTEMPT_START = ("TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled")
_ATTEMPT_FAIL = {
    "TaskFailed": "taskFailedEventDetails",
    "TaskTimedOut": "taskTimedOutEventDetails",
    "TaskStartFailed": "taskStartFailedEventDetails",
    "TaskSubmitFailed": "taskSubmitFailedEventDetails",
    "LambdaFunctionFailed": "lambdaFunctionFailedEventDetails",
    "LambdaFunctionTimedOut": "lambdaFunctionTimedOutEventDetails",
    "LambdaFunctionStartFailed": "lambdaFunctionStartFailedEventDetails",
    "LambdaFunctionScheduleFailed": "lambdaFunctionScheduleFailedEventDetails",
    "ActivityFailed": "activityFailedEventDetails",
    "ActivityTimedOut": "activityTimedOutEventDetails",
    "ActivityScheduleFailed": "activityScheduleFailedEventDetails",
}
_ATTEMPT_OK = ("TaskSucceeded", "LambdaFunctionSucceeded", "ActivitySucceeded")
_ATTEMPT_OK_DETAILS = {
    "TaskSucceeded": "taskSucceededEventDetails",
    "LambdaFunctionSucceeded": "lambdaFunctionSucceededEventDetails",
    "ActivitySucceeded": "activitySucceededEventDetails",
}
#: Parallel/Map failure events (their details, when AWS gives any, hold error and cause).
_COMPOUND_FAIL = ("ParallelStateFailed", "MapStateFailed", "MapRunFailed")


def trim(text: str | None, limit: int = TRIM) -> str | None:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def cause_message(cause: str | None) -> str | None:
    """The human part of an error's cause: Lambda's JSON error object gives its ``errorMessage``."""
    return trim(lambda_error_message(cause), CAUSE_TRIM) if cause else cause


def _error(details: dict[str, Any]) -> dict[str, Any]:
    return {"error": details.get("error") or "Unknown", "cause": cause_message(details.get("cause"))}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="milliseconds") if value else None


def _seconds(start: datetime | None, stop: datetime | None) -> float | None:
    return round((stop - start).total_seconds(), 3) if start and stop else None


@dataclass
class _State:
    name: str
    type: str
    entered: datetime
    input: str | None
    parent: _State | None = None
    iteration: int | None = None
    exited: datetime | None = None
    exit_id: int | None = None
    output: str | None = None
    attempts: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    last_attempt_failed: bool = False
    #: Error of a Parallel/Map (from its failure event's details, or from the nested state that failed).
    compound_error: dict[str, Any] | None = None
    caught_by: str | None = None
    map_run_arn: str | None = None
    iterations: int | None = None

    @property
    def is_compound(self) -> bool:
        return self.type in ("Parallel", "Map")

    @property
    def failed(self) -> bool:
        """Ended in an error: its last attempt failed, it is a Fail state, or a nested state failed it."""
        return self.type == "Fail" or self.last_attempt_failed or self.compound_error is not None


def _state_type(event_type: str) -> str:
    return event_type.removesuffix("StateEntered")


def _details(event: dict[str, Any]) -> dict[str, Any]:
    return next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})


def _states(events: list[dict[str, Any]]) -> tuple[list[_State], dict[int, _State], dict[str, Any] | None]:
    """Every state entered, in order, with its events folded in; and the execution's error."""
    owner: dict[int, _State] = {}  # event id -> the state it belongs to
    entered_after: dict[int, _State] = {}  # previousEventId of a StateEntered -> that state
    branch_start: dict[int, tuple[_State, int | None]] = {}  # Parallel/Map iteration start -> (state, index)
    states: list[_State] = []
    execution_error: dict[str, Any] | None = None

    def innermost_open(name: str | None = None) -> _State | None:
        for s in reversed(states):
            if s.exited is None and (name is None or s.name == name):
                return s
        return None

    def enclosing(event_id: int, name: str | None) -> _State | None:
        """The state named ``name`` that event ``event_id`` belongs to, or one it is nested in."""
        s = owner.get(event_id)
        while s is not None and s.name != name:
            s = s.parent
        return s if s is not None and s.exited is None else innermost_open(name)

    for event in events:
        kind, eid, prev = event["type"], event["id"], event.get("previousEventId") or 0
        details = _details(event)
        if kind.endswith("StateEntered"):
            state = _State(details["name"], _state_type(kind), event["timestamp"], details.get("input"))
            if prev in branch_start:  # the first state of a Parallel branch or a Map iteration
                state.parent, state.iteration = branch_start[prev]
            elif prev in owner:  # after a sibling (its Next, or a Catch)
                before = owner[prev]
                state.parent, state.iteration = before.parent, before.iteration
                if before.exited is None and before.failed:  # caught without an exit event
                    before.caught_by = state.name
            else:
                parent = innermost_open()
                while parent is not None and not parent.is_compound:
                    parent = parent.parent
                state.parent = parent
            states.append(state)
            owner[eid] = state
            entered_after[prev] = state
        elif kind.endswith("StateExited"):
            found = enclosing(prev, details.get("name"))
            if found is not None:
                found.exited, found.exit_id, found.output = event["timestamp"], eid, details.get("output")
                owner[eid] = found
        elif kind == "MapIterationStarted":
            found = enclosing(prev, details.get("name"))
            if found is not None:
                branch_start[eid] = (found, details.get("index"))
        elif kind.startswith("Execution") and kind != "ExecutionStarted" and kind != "ExecutionSucceeded":
            execution_error = _error(details) if details else {"error": kind, "cause": None}
        elif prev in owner:
            s = owner[eid] = owner[prev]
            if kind == "ParallelStateStarted":
                branch_start[eid] = (s, None)
            elif kind == "MapStateStarted":
                s.iterations = details.get("length")
            elif kind == "MapRunStarted":
                s.map_run_arn = details.get("mapRunArn")
            elif kind in _ATTEMPT_START:
                s.attempts += 1
                s.last_attempt_failed = False
            elif kind in _ATTEMPT_FAIL:
                s.failures.append({**_error(details), "at": _iso(event["timestamp"])})
                s.last_attempt_failed = True
            elif kind in _ATTEMPT_OK:
                s.last_attempt_failed = False
            elif kind in _COMPOUND_FAIL and details.get("error"):
                s.compound_error = _error(details)

    # Nested failures make their Parallel/Map fail (moto's failure events carry no details): innermost first.
    for s in reversed(states):
        if s.type == "Fail":
            s.compound_error = _fail_error(s, execution_error)
        uncaught = s.exited is None and s.caught_by is None
        if s.parent is not None and s.failed and uncaught and s.parent.compound_error is None:
            s.parent.compound_error = (
                s.compound_error
                or (s.failures[-1] if s.failures else None)
                or {"error": "Unknown", "cause": f"state {s.name} failed"}
            )
    for s in states:
        if s.failed and s.exit_id is not None and s.exit_id in entered_after:
            s.caught_by = entered_after[s.exit_id].name
    return states, owner, execution_error


def _fail_error(state: _State, execution_error: dict[str, Any] | None) -> dict[str, Any] | None:
    """A Fail state's error: what the Catch of its Parallel/Map put in the output, else the execution's."""
    ancestor = state.parent
    while ancestor is not None:
        if ancestor.exited is not None:
            return _find_error(ancestor.output)
        ancestor = ancestor.parent
    return execution_error


def _find_error(text: str | None) -> dict[str, Any] | None:
    """An error a Catch put into a state's output (``{"Error", "Cause"}``, at the top or one level down)."""
    try:
        value = json.loads(text or "")
    except ValueError:
        return None
    candidates = [value, *(value.values() if isinstance(value, dict) else [])]
    for c in candidates:
        if isinstance(c, dict) and isinstance(c.get("Error"), str) and set(c) <= {"Error", "Cause"}:
            return {"error": c["Error"], "cause": cause_message(c.get("Cause"))}
    return None


def parse(events: list[dict[str, Any]], execution: dict[str, Any]) -> dict[str, Any]:
    """The timeline of one execution from its history ``events`` and ``describe_execution`` result."""
    events = sorted(events, key=lambda e: e["id"])
    states, _, execution_error = _states(events)
    running = execution.get("status", "RUNNING") not in FINAL
    rows: list[dict[str, Any]] = []
    retried = 0
    for s in states:
        error = s.compound_error if s.type == "Fail" or s.is_compound else None
        if s.last_attempt_failed and s.failures:
            error = s.failures[-1]
        if s.type == "Fail":
            status = "FAILED"
        elif s.exited is not None or s.caught_by:
            status = "CAUGHT" if s.failed else "SUCCEEDED"
        else:
            status = "RUNNING" if running and not s.failed else "FAILED"
        retries = s.failures[:-1] if s.last_attempt_failed else s.failures
        retried += len(retries)
        rows.append(
            {
                "name": s.name,
                "type": s.type,
                "status": status,
                "started_at": _iso(s.entered),
                "stopped_at": _iso(s.exited),
                "duration_s": _seconds(s.entered, s.exited),
                "attempts": s.attempts,
                "retries": retries,
                "error": error,
                "caught_by": s.caught_by,
                "parent": s.parent.name if s.parent else None,
                "iteration": s.iteration,
                "input": trim(s.input),
                "output": trim(s.output),
                **({"map_run_arn": s.map_run_arn} if s.map_run_arn else {}),
                **({"iterations": s.iterations} if s.iterations is not None and not s.map_run_arn else {}),
            }
        )
    started, stopped = execution.get("startDate"), execution.get("stopDate")
    top = [r for r in rows if r["parent"] is None]
    arn = execution["executionArn"]
    return {
        "execution_arn": arn,
        "name": execution.get("name") or arn.rsplit(":", 1)[-1],
        "state_machine": (execution.get("stateMachineArn") or "").rsplit(":", 1)[-1] or None,
        "status": execution.get("status"),
        "image_id": image_id_of(execution, events),
        "started_at": _iso(started),
        "stopped_at": _iso(stopped),
        "duration_s": _seconds(started, stopped),
        "final_state": top[-1]["name"] if top else None,
        "error": execution_error,
        "retries": retried,
        "states": rows,
    }


def image_id_of(execution: dict[str, Any], events: list[dict[str, Any]]) -> str | None:
    """The image an execution is about: the id its Claim state found, else the S3 key's last segment."""
    for event in events:
        if event["type"] == "TaskStateExited":
            try:
                output = json.loads(event["stateExitedEventDetails"].get("output") or "")
            except ValueError:
                continue
            image = output.get("image") if isinstance(output, dict) else None
            if isinstance(image, dict) and isinstance(image.get("id"), str):
                return image["id"]
    return image_id_from_input(execution.get("input"))


def image_id_from_input(text: str | None) -> str | None:
    """The image id in an ingest execution's input (an S3 event's key, ``<prefix><owner>/<image id>``)."""
    try:
        event = json.loads(text or "")
    except ValueError:
        return None
    if not isinstance(event, dict):
        return None
    if isinstance(event.get("image_id"), str):
        return event["image_id"]
    key = ((event.get("detail") or {}).get("object") or {}).get("key")
    if isinstance(key, str) and "/" in key:
        return key.rsplit("/", 1)[1] or None
    return None


def timeline(sfn_client: Any, execution_arn: str) -> dict[str, Any]:
    """The timeline of ``execution_arn`` (DescribeExecution + every page of GetExecutionHistory)."""
    execution = sfn_client.describe_execution(executionArn=execution_arn)
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    seen: set[int] = set()
    while True:
        page = sfn_client.get_execution_history(**kwargs)
        for event in page["events"]:
            if event["id"] not in seen:  # moto ignores maxResults and returns every page whole
                seen.add(event["id"])
                events.append(event)
        token = page.get("nextToken")
        if not token:
            break
        kwargs["nextToken"] = token
    run = parse(events, execution)
    for state in run["states"]:
        if state.get("map_run_arn"):  # a Distributed Map: its iterations are child executions of a Map Run
            state["map_run"] = _map_run(sfn_client, state["map_run_arn"])
    return run


def _map_run(sfn_client: Any, arn: str) -> dict[str, Any]:
    """A Distributed Map's run: status and item counts (moto has no DescribeMapRun: the ARN alone)."""
    try:
        described = sfn_client.describe_map_run(mapRunArn=arn)
    except Exception:  # not implemented locally, not allowed, gone: the ARN alone still helps
        return {"arn": arn}
    counts = described.get("itemCounts") or {}
    return {
        "arn": arn,
        "status": described.get("status"),
        "items": {k: counts[k] for k in ("total", "succeeded", "failed", "running") if k in counts},
    }
