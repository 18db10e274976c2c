"""Sending many uploads without flooding the workflow: a few at a time, while fewer than K executions run.

An execution holds at most one slot of each function at a time, so with at most K executions in flight no
function reserved at K or more is ever throttled. The local stack needs this more than AWS: every handler
shares one process, so a burst holds each slot far longer than a Lambda would (GIL queueing), and the
throttling it provokes is an artefact of running on a laptop (``imgflow soak --burst`` measures bursts).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from imgflow.workflow.functions import IMAGE_TASK_CONCURRENCY

T = TypeVar("T")
R = TypeVar("R")

#: The demo's cap: the image tasks' reserved concurrency (no upload of the demo waits on a throttle).
DEMO_MAX_IN_FLIGHT = IMAGE_TASK_CONCURRENCY


def running_executions(sfn: Any, state_machine_arn: str) -> int:
    """Executions of ``state_machine_arn`` still running (counted up to 100: enough for a cap)."""
    page = sfn.list_executions(stateMachineArn=state_machine_arn, statusFilter="RUNNING", maxResults=100)
    return len(page["executions"])


def paced_map(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    workers: int = 8,
    running: Callable[[], int] | None = None,
    max_in_flight: int = 0,
    progress: Callable[[int], None] | None = None,
) -> list[R]:
    """``fn`` over ``items``, ``workers`` at a time; with ``running`` and ``max_in_flight``, each batch waits
    while that many executions run. Results in the order of ``items``."""
    done: list[R] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(items), workers):
            while running is not None and max_in_flight and running() >= max_in_flight:
                time.sleep(0.1)
            done += pool.map(fn, items[start : start + workers])
            if progress is not None:
                progress(len(done))
    return done
