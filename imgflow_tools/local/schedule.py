"""The reprocess schedule of the local mode: what EventBridge Scheduler does in AWS, on a timer thread.

``imgflow serve`` runs the repair (``stuck`` then ``failed``) every ``period_s`` seconds through the same
reprocess state machine and the same operator code as ``imgflow reprocess`` (moto never fires schedules).
"""

from __future__ import annotations

import logging
import threading
import time
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
        last_run: float | None = None,
        on_run: Callable[[float], None] | None = None,
    ) -> None:
        self.endpoint, self.period_s, self.modes = endpoint, period_s, modes
        self.on_summary = on_summary
        #: When the schedule last ran (epoch s; a persistent stack keeps it), and who to tell when it runs.
        self.last_run, self.on_run = last_run, on_run
        self._soon: list[tuple[tuple[str, ...], dict[str, Any]]] = []
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="imgflow-repair", daemon=True)

    def start(self) -> RepairSchedule:
        if self.period_s > 0 or self._soon:
            self._thread.start()
        return self

    def run_soon(self, modes: tuple[str, ...], **request: Any) -> None:
        """Run ``modes`` with ``request`` once, first thing after ``start`` (the stuck mode after a crash)."""
        self._soon.append((modes, request))

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def run_once(self, modes: tuple[str, ...] | None = None, **request: Any) -> list[dict[str, Any]]:
        from imgflow_tools.ops import reprocess
        from imgflow_tools.ops import stack as stacks

        stack = stacks.local(self.endpoint)
        summaries = []
        for mode in modes or self.modes:
            summary = reprocess.run(stack, {"mode": mode, **request})
            summaries.append(summary)
            if self.on_summary:
                self.on_summary(summary)
        self.runs += 1
        self.last_run = time.time()
        if self.on_run:
            self.on_run(self.last_run)
        return summaries

    def _first_wait(self) -> float:
        """A full period, or what is left of the one the previous process started."""
        if self.last_run is None:
            return self.period_s
        return min(self.period_s, max(0.0, self.last_run + self.period_s - time.time()))

    def _loop(self) -> None:
        for modes, request in self._soon:
            try:
                self.run_once(modes, **request)
            except Exception:
                log.exception("start-up repair failed")
        if self.period_s <= 0:
            return
        wait = self._first_wait()
        while not self._stop.wait(wait):
            wait = self.period_s
            try:
                self.run_once()
            except Exception:  # a failed repair must not end the server; the next period tries again
                log.exception("scheduled repair failed")
