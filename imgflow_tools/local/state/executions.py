"""Step Functions executions in the state: each is a row (its description, and its history compressed).

Restored executions are ``RestoredExecution`` objects in their state machine's list, which moto's
ListExecutions, DescribeExecution and GetExecutionHistory serve like live ones (the history is read from
the state when asked). An execution still RUNNING when the previous process ended is restored ABORTED,
with an ``ExecutionAborted`` event that says why.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

ABORT_ERROR = "imgflow.LocalStackStopped"
ABORT_CAUSE = (
    "imgflow serve stopped while this execution ran; the repair (stuck mode) runs its image again at the "
    "next start"
)
#: (arn, machine, name, status, start, stop, input, output, error, cause, history) as stored.
ExecutionRow = tuple[str, str, str, str, float, float | None, str | None, str | None, Any, Any, bytes]
Events = list[dict[str, Any]]


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()}
    raise TypeError(f"not JSON: {type(value).__name__}")


def _hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "$dt" in obj:
        return datetime.fromtimestamp(obj["$dt"], UTC)
    return obj


def pack(events: Events) -> bytes:
    return zlib.compress(json.dumps(events, default=_default, separators=(",", ":")).encode(), 1)


def unpack(blob: bytes) -> Events:
    loaded: Events = json.loads(zlib.decompress(blob), object_hook=_hook)
    return loaded


def _ts(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


class _NoWorker:
    """What moto's map-run and callback lookups find on a restored execution: nothing."""

    class env:
        class map_run_record_pool_manager:
            @staticmethod
            def get(_arn: str) -> None:
                return None

            @staticmethod
            def get_all() -> list[Any]:
                return []

        class callback_pool_manager:
            @staticmethod
            def notify(**_kw: Any) -> bool:
                return False

            @staticmethod
            def heartbeat(**_kw: Any) -> bool:
                return False


class RestoredExecution:
    """An execution of an earlier process, as moto's responses read one (final, never runs again)."""

    exec_worker = _NoWorker

    def __init__(self, row: ExecutionRow, history: Callable[[str], Events]) -> None:
        arn, machine, name, status, start, stop, input_, output, error, cause, _ = row
        self.execution_arn = self.exec_arn = arn
        self.state_machine_arn, self.name, self._status = machine, name, status
        self.start_date = datetime.fromtimestamp(start, UTC)
        self.stop_date = datetime.fromtimestamp(stop, UTC) if stop is not None else None
        self.execution_input, self.output = input_ or "{}", output
        self.output_details = {"included": True}
        self.error, self.cause = error, cause
        self._history = history
        self._events: Events | None = None

    @property
    def status(self) -> str:
        return self._status

    @property
    def exec_status(self) -> Any:
        from moto.stepfunctions.parser.api import ExecutionStatus

        return ExecutionStatus(self._status)

    def events(self) -> Events:
        return self._events if self._events is not None else self._history(self.execution_arn)

    def to_history_output(self) -> dict[str, Any]:
        return {"events": self.events()}

    def stop(self, *_a: Any, **_kw: Any) -> None:
        """A final execution stays as it ended."""

    def abort(self, now: datetime) -> None:
        """It was RUNNING when the previous process ended: ABORTED now, with an event saying why."""
        events = self.events()
        last = events[-1]["id"] if events else 0
        events.append(
            {
                "timestamp": now,
                "type": "ExecutionAborted",
                "id": last + 1,
                "previousEventId": last,
                "executionAbortedEventDetails": {"error": ABORT_ERROR, "cause": ABORT_CAUSE},
            }
        )
        self._events = events
        self._status, self.stop_date = "ABORTED", now
        self.error, self.cause = ABORT_ERROR, ABORT_CAUSE

    def row(self) -> ExecutionRow:
        return (
            self.execution_arn,
            self.state_machine_arn,
            self.name,
            self._status,
            self.start_date.timestamp(),
            _ts(self.stop_date),
            self.execution_input,
            self.output,
            self.error,
            self.cause,
            pack(self.events()),
        )


def backend(account: str, region: str) -> Any:
    from moto.stepfunctions.responses import get_backend

    return get_backend(account, region)


class Tracker:
    """Which live executions changed since they were last written: a new one (RUNNING, its history so far),
    and one that ended (its whole history). Rewriting the history of every running execution each second
    cost bench E about 20% more engine CPU per image; once at start and once at the end is what a restart
    needs (a run in flight is restored ABORTED either way)."""

    def __init__(self) -> None:
        self.written: dict[str, tuple[str, int]] = {}
        self.settled: set[str] = set()
        self.pending: list[RestoredExecution] = []  # restored ones changed at start (aborted)

    def capture(self, account: str, region: str) -> list[ExecutionRow]:
        rows = [e.row() for e in self.pending]
        self.pending = []
        for machine in list(backend(account, region).state_machines):
            for execution in list(machine.executions):
                arn = execution.execution_arn
                if arn in self.settled or isinstance(execution, RestoredExecution):
                    continue
                row = _live_row(execution, self.written.get(arn))
                if row is None:
                    continue
                self.written[arn] = (row[3], _count(execution))
                if row[3] != "RUNNING":
                    self.settled.add(arn)
                    self.written.pop(arn, None)
                rows.append(row)
        return rows


def _count(execution: Any) -> int:
    worker = getattr(execution, "exec_worker", None)
    manager = getattr(getattr(worker, "env", None), "event_manager", None)
    events = getattr(manager, "_history_event_list", None)
    return len(events) if events is not None else -1


def _live_row(execution: Any, written: tuple[str, int] | None) -> ExecutionRow | None:
    if getattr(execution, "exec_status", None) is None:
        return None  # not started yet
    status = str(execution.status)
    if written is not None and written[0] == status:
        return None  # a running execution is written when first seen and when it ends, not per event
    try:
        events = execution.to_history_output()["events"]
    except AttributeError:  # no worker yet
        events = []
    output = execution.output
    if output is not None and not isinstance(output, str):
        output = json.dumps(output, separators=(",", ":"), default=str)
    return (
        execution.execution_arn,
        execution.state_machine_arn,
        execution.name,
        status,
        _ts(execution.start_date) or 0.0,
        _ts(execution.stop_date),
        execution.execution_input,
        output,
        execution.error,
        execution.cause,
        pack(events),
    )


def restore(
    account: str, region: str, rows: list[ExecutionRow], history: Callable[[str], Events], now: datetime
) -> tuple[list[RestoredExecution], list[RestoredExecution], int]:
    """Append the executions to their state machines (oldest first); returns (all restored, those aborted
    because they were RUNNING, the count whose state machine no longer exists)."""
    machines = {m.arn: m for m in backend(account, region).state_machines}
    restored, aborted, orphans = [], [], 0
    for row in sorted(rows, key=lambda r: r[4]):
        machine = machines.get(row[1])
        if machine is None:
            orphans += 1
            continue
        execution = RestoredExecution(row, history)
        if execution.status == "RUNNING":
            execution.abort(now)
            aborted.append(execution)
        machine.executions.append(execution)
        restored.append(execution)
    return restored, aborted, orphans


def running(account: str, region: str) -> int:
    """Live executions still RUNNING (what a clean stop waits for)."""
    return sum(
        1
        for machine in list(backend(account, region).state_machines)
        for execution in list(machine.executions)
        if not isinstance(execution, RestoredExecution)
        and getattr(execution, "exec_status", None) is not None
        and execution.status == "RUNNING"
    )
