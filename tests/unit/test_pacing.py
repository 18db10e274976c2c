"""imgflow_tools.pacing: uploads go out in batches, each only while fewer than the cap of executions run."""

from __future__ import annotations

import threading

from imgflow_tools.pacing import paced_map


def test_each_batch_waits_for_room_and_results_keep_their_order() -> None:
    running = [3, 3, 1, 3, 0, 0, 0]  # what each look at the running executions finds (cap 2)
    looks: list[int] = []
    log: list[tuple[str, int]] = []
    lock = threading.Lock()

    def look() -> int:
        value = running.pop(0) if running else 0
        looks.append(value)
        with lock:
            log.append(("look", value))
        return value

    def send(n: int) -> int:
        with lock:
            log.append(("send", n))
        return n * 10

    out = paced_map(send, list(range(6)), workers=3, running=look, max_in_flight=2)
    assert out == [0, 10, 20, 30, 40, 50]
    assert looks == [3, 3, 1, 3, 0]  # batch 1 waited through two full looks, batch 2 through one
    # No item went out after a look that found no room, before a look that did.
    sends_before = [i for i, (kind, _) in enumerate(log) if kind == "send"]
    assert log[: sends_before[0]] == [("look", 3), ("look", 3), ("look", 1)]


def test_without_a_cap_everything_goes_at_once() -> None:
    assert paced_map(lambda n: n + 1, [1, 2, 3], workers=2) == [2, 3, 4]
