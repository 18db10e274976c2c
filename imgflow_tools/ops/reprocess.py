"""One run of statemachine/reprocess.asl.json, with progress and its summary (``imgflow reprocess``).

The same code works against ``imgflow serve`` (``--endpoint``) and a deployed stack (``--stack``):
it starts the reprocess state machine, follows its Distributed Map run, and prints the summary the
workflow returns (also written to S3 under ``.reprocess/<run_id>/`` in the renditions bucket).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from imgflow.errors import lambda_error_message
from imgflow_tools.ops import stack as stacks

MODES = ("failed", "stuck", "stale", "all")
#: The summary keys every caller can rely on (soak's repair reads them).
SUMMARY_KEYS = ("selected", "started", "already_running", "succeeded", "rejected", "failed", "skipped")
FINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


class ReprocessFailed(RuntimeError):
    """The reprocess execution itself did not succeed (bad input, or it was stopped)."""


def start(stack: stacks.Stack, request: dict[str, Any]) -> str:
    """Start one reprocess execution; returns its ARN. A ``run_id`` in the request names the run (a run
    started again with the same id reuses its manifest and skips the work already started)."""
    if not stack.reprocess_arn:
        raise stacks.StackNotFound("this stack has no reprocess state machine")
    run = (
        request.get("run_id")
        or f"{request.get('mode', 'run')}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    )
    body = {**request, "run_id": run}
    name = f"{run[:60]}-{uuid.uuid4().hex[:12]}"
    started = stack.client("stepfunctions").start_execution(
        stateMachineArn=stack.reprocess_arn, name=name, input=json.dumps(body)
    )
    return str(started["executionArn"])


def _map_progress(sfn: Any, execution_arn: str) -> dict[str, int] | None:
    runs = sfn.list_map_runs(executionArn=execution_arn).get("mapRuns", [])
    if not runs:
        return None
    counts = sfn.describe_map_run(mapRunArn=runs[0]["mapRunArn"]).get("itemCounts", {})
    return {
        k: int(counts.get(k, 0)) for k in ("total", "succeeded", "failed", "running", "pending", "aborted")
    }


def wait(
    stack: stacks.Stack,
    execution_arn: str,
    *,
    progress: Callable[[dict[str, Any]], None] | None = None,
    poll_s: float = 0.25,
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """Wait for the execution; returns its summary (``ReprocessFailed`` if it did not succeed)."""
    sfn = stack.client("stepfunctions")
    deadline = time.monotonic() + timeout_s if timeout_s else None
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        status = described["status"]
        if progress:
            state: dict[str, Any] = {"execution_arn": execution_arn, "status": status}
            try:
                state["items"] = _map_progress(sfn, execution_arn)
            except Exception:  # progress is a nicety: never let it break the run
                state["items"] = None
            progress(state)
        if status in FINAL:
            break
        if deadline and time.monotonic() > deadline:
            raise TimeoutError(f"{execution_arn} still running after {timeout_s} s")
        time.sleep(poll_s)
    if status != "SUCCEEDED":
        raise ReprocessFailed(
            f"reprocess {status}: {described.get('error', '')} {_message(described)}".strip()
        )
    summary: dict[str, Any] = json.loads(described.get("output") or "{}")
    summary["execution_arn"] = execution_arn
    return summary


def _message(described: dict[str, Any]) -> str:
    """The human part of a failed execution's cause (a Lambda error's message, never its stack trace)."""
    return lambda_error_message(described.get("cause"))[:500]


def run(
    stack: stacks.Stack,
    request: dict[str, Any],
    *,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Start one reprocess execution with the issue-9 input, wait, return the summary dict
    (selected, started, already_running, succeeded, rejected, failed, skipped, expired, ...)."""
    return wait(stack, start(stack, request), progress=progress)


# -- showing a run ------------------------------------------------------------------------------------------
class ProgressBar:
    """One line on stderr, redrawn: items done of the total, per second."""

    def __init__(self, stream: Any = sys.stderr, width: int = 30) -> None:
        self.stream, self.width, self.started = stream, width, time.monotonic()
        self.drawn = False

    def __call__(self, state: dict[str, Any]) -> None:
        items = state.get("items")
        elapsed = time.monotonic() - self.started
        if not items or not items.get("total"):
            text = f"reprocess: {state['status'].lower()} ({'selecting' if items is None else 'starting'})"
        else:
            done = items["succeeded"] + items["failed"] + items["aborted"]
            total = items["total"]
            filled = int(self.width * done / total)
            rate = done / elapsed if elapsed > 0 else 0.0
            text = (
                f"reprocess [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} "
                f"{rate:.1f} images/s, {items['running']} running"
            )
        if self.stream.isatty():
            self.stream.write("\r" + text.ljust(79))
        elif not self.drawn or state["status"] != "RUNNING":
            self.stream.write(text + "\n")  # not a terminal: first and last line only
        self.drawn = True
        self.stream.flush()

    def close(self) -> None:
        if self.drawn and self.stream.isatty():
            self.stream.write("\n")


def format_summary(summary: dict[str, Any]) -> str:
    keys = [*SUMMARY_KEYS, "expired"]
    line = " ".join(f"{k}={summary.get(k, 0)}" for k in keys)
    extra = (
        f"\nrun {summary.get('run_id')} mode={summary.get('mode')} version={summary.get('pipeline_version')}"
    )
    if summary.get("truncated"):
        extra += " (more images remain: run again)"
    if summary.get("map_error"):
        extra += f"\nmap: {summary['map_error'].get('Error')}: {summary['map_error'].get('Cause', '')[:200]}"
    return f"reprocess {line}{extra}"
