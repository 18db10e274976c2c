"""Recent executions of imgflow's state machines, and any one of them state by state (``imgflow runs``).

Reads the Step Functions API (ListExecutions, DescribeExecution, GetExecutionHistory) and the image table,
so it works the same against ``imgflow serve``'s endpoint (``--endpoint``) and a deployed stack.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from imgflow import keys
from imgflow.records import ImageRepository
from imgflow.records import table as t
from imgflow.records.repository import recent_runs
from imgflow.workflow import history
from imgflow_tools.ops import stack as stacks
from imgflow_tools.ops.errors import CommandError

STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
#: Record fields shown by ``runs show`` (index keys and the like left out).
_RECORD_HIDDEN = {t.PK, t.SK, "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "runs"}


def timeline(sfn_client: Any, execution_arn: str) -> dict[str, Any]:
    """One execution, state by state (the ``runs show --json`` shape; see ``imgflow.workflow.history``)."""
    return history.timeline(sfn_client, execution_arn)


class NotFound(CommandError):
    """Nothing matches what the operator asked for (a one-line message; exit status 1)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "`imgflow runs` lists the recent ones", status=1)


# -- finding executions ----------------------------------------------------------------------------------
def _machines(stack: stacks.Stack) -> list[str]:
    return [arn for arn in (stack.ingest_arn, stack.reprocess_arn) if arn]


def recent(stack: stacks.Stack, *, status: str | None, limit: int) -> list[str]:
    """ARNs of the newest executions of every imgflow state machine, newest first."""
    sfn = stack.client("stepfunctions")
    found: list[dict[str, Any]] = []
    for machine in _machines(stack):
        kwargs: dict[str, Any] = {"stateMachineArn": machine, "maxResults": min(limit, 1000)}
        if status:
            kwargs["statusFilter"] = status
        found.extend(sfn.list_executions(**kwargs)["executions"][:limit])
    found.sort(key=lambda e: e["startDate"], reverse=True)
    return [e["executionArn"] for e in found[:limit]]


def image_record(stack: stacks.Stack, image_id: str) -> dict[str, Any] | None:
    if not keys.is_valid_segment(image_id):
        return None
    return ImageRepository(stack.table_name, client=stack.client("dynamodb")).get(image_id)


def image_runs(stack: stacks.Stack, image_id: str) -> tuple[dict[str, Any], list[str]]:
    """The image's record and its executions, newest first (remembered on the record at Claim)."""
    record = image_record(stack, image_id)
    if record is None:
        raise NotFound(f"no image {image_id} in table {stack.table_name}")
    return record, recent_runs(record)


def resolve(stack: stacks.Stack, target: str) -> tuple[str, dict[str, Any] | None, list[str]]:
    """(execution ARN, the image's record or None, the image's other runs) for an ARN, name or image id."""
    if target.startswith("arn:"):
        return target, None, []
    record = image_record(stack, target)
    if record is not None:
        arns = recent_runs(record)
        if not arns:
            raise NotFound(f"image {target} has no run yet (status {record.get('status')})")
        return arns[0], record, arns[1:]
    sfn = stack.client("stepfunctions")
    for machine in _machines(stack):
        arn = machine.replace(":stateMachine:", ":execution:") + f":{target}"
        try:
            sfn.describe_execution(executionArn=arn)
        except ClientError:
            continue
        return arn, None, []
    raise NotFound(f"{target} is neither an image id in {stack.table_name} nor an execution name")


# -- output -------------------------------------------------------------------------------------------------
def _when(iso: str | None) -> str:
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    lines = [header, *(tuple(str(c) for c in row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def summary(run: dict[str, Any]) -> dict[str, Any]:
    """One line of ``imgflow runs``."""
    keys_ = ("execution_arn", "name", "state_machine", "status", "image_id", "started_at", "stopped_at")
    return {
        **{k: run.get(k) for k in keys_},
        "duration_s": run.get("duration_s"),
        "final_state": run.get("final_state"),
        "retries": run.get("retries", 0),
        "error": run.get("error"),
    }


def format_list(runs: list[dict[str, Any]]) -> str:
    rows = [
        (
            _when(r["started_at"]),
            r["status"] or "",
            _secs(r["duration_s"]),
            (r["state_machine"] or "").removeprefix("imgflow-"),
            r["image_id"] or "-",
            r["final_state"] or "-",
            str(r["retries"]),
            (r["error"] or {}).get("error", ""),
            r["name"],
        )
        for r in runs
    ]
    header = (
        "started (UTC)",
        "status",
        "took",
        "machine",
        "image",
        "final state",
        "retries",
        "error",
        "execution",
    )
    return _table(header, rows)


def _depth(state: dict[str, Any], by_name: dict[str, dict[str, Any]]) -> int:
    depth, parent = 0, state.get("parent")
    while parent and depth < 20:
        depth += 1
        parent = (by_name.get(parent) or {}).get("parent")
    return depth


def _notes(state: dict[str, Any]) -> str:
    notes = []
    if state["retries"]:
        errors = ", ".join(dict.fromkeys(r["error"] for r in state["retries"]))
        notes.append(f"retried {len(state['retries'])}x ({errors})")
    if state["error"]:
        cause = state["error"].get("cause") or ""
        notes.append(f"{state['error']['error']}: {cause}" if cause else state["error"]["error"])
    if state.get("caught_by"):
        notes.append(f"caught -> {state['caught_by']}")
    items = (state.get("map_run") or {}).get("items")
    if items:
        notes.append("map run: " + ", ".join(f"{v} {k}" for k, v in items.items()))
    elif state.get("iterations") is not None:
        notes.append(f"{state['iterations']} iterations")
    return "; ".join(notes)


def format_timeline(run: dict[str, Any], record: dict[str, Any] | None, others: list[str]) -> str:
    started = datetime.fromisoformat(run["started_at"]) if run.get("started_at") else None
    by_name = {s["name"]: s for s in run["states"]}
    rows = []
    for i, s in enumerate(run["states"], 1):
        offset = (datetime.fromisoformat(s["started_at"]) - started).total_seconds() if started else None
        name = "  " * _depth(s, by_name) + s["name"]
        if s.get("iteration") is not None:
            name += f" [{s['iteration']}]"
        rows.append(
            (
                str(i),
                name,
                s["type"],
                s["status"],
                f"+{offset:.2f}s" if offset is not None else "-",
                _secs(s["duration_s"]),
                _notes(s),
            )
        )
    error = run.get("error")
    lines = [
        f"execution    {run['execution_arn']}",
        f"image        {run.get('image_id') or '-'}",
        f"status       {run['status']}, {_secs(run.get('duration_s'))} from {_when(run.get('started_at'))}"
        f" UTC; final state {run.get('final_state') or '-'}; {run.get('retries', 0)} retries",
    ]
    if error:
        lines.append(f"error        {error['error']}: {error.get('cause') or ''}".rstrip(": "))
    lines += ["", _table(("#", "state", "type", "status", "start", "took", "retries, errors, catch"), rows)]
    if record is not None:
        lines += ["", "image record " + _record_line(record)]
    if others:
        lines += ["", f"{len(others)} earlier run(s) of this image (imgflow runs show ARN):"]
        lines += [f"  {arn}" for arn in others]
    return "\n".join(lines)


def _record_line(record: dict[str, Any]) -> str:
    parts = [str(record.get("status"))]
    if record.get("reason"):
        parts.append(f"reason {record['reason']}")
    if record.get("error"):
        parts.append(f"error {record['error'].get('type')}: {record['error'].get('message', '')}")
    if record.get("width"):
        parts.append(f"{record['width']}x{record['height']} {record.get('format') or ''}".strip())
    if record.get("renditions"):
        parts.append(
            "renditions " + ", ".join(f"{r['name']} {r['width']}x{r['height']}" for r in record["renditions"])
        )
    parts.append(f"updated {record.get('updated_at')}")
    return "; ".join(parts)


def visible(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """The record as ``runs show`` prints it (index keys and the like left out)."""
    return None if record is None else {k: v for k, v in record.items() if k not in _RECORD_HIDDEN}
