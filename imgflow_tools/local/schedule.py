"""The reprocess schedule of the local mode: what EventBridge Scheduler does in AWS, on a timer thread.

``imgflow serve`` runs the repair (``stuck`` then ``failed``) every ``period_s`` seconds through the same
reprocess state machine and the same operator code as ``imgflow reprocess`` (moto never fires schedules).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("imgflow.schedule")
#: Default period of the local repair (AWS: ``reprocessSchedule``, hourly); 0 turns it off.
DEFAULT_PERIOD_S = 900


class RepairSchedule:
    """Runs ``modes`` one after the other every ``period_s`` seconds until stopped."""

    def __init__(
        self,
        endpoint: str,
        period_s: float,
        *,
        modes: tuple[str, ...] = ("stuck", "failed"),
        on_summary: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.endpoint, self.period_s, self.modes = endpoint, period_s, modes
        self.on_summary = on_summary
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="imgflow-repair", daemon=True)

    def start(self) -> RepairSchedule:
        if self.period_s > 0:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def run_once(self) -> list[dict[str, Any]]:
        from imgflow_tools.ops import reprocess
        from imgflow_tools.ops import stack as stacks

        stack = stacks.local(self.endpoint)
        summaries = []
        for mode in self.modes:
            summary = reprocess.run(stack, {"mode": mode})
            summaries.append(summary)
            if self.on_summary:
                self.on_summary(summary)
        self.runs += 1
        return summaries

    def _loop(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                self.run_once()
            except Exception:  # a failed repair must not end the server; the next period tries again
                log.exception("scheduled repair failed")
