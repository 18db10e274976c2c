"""A burst of 200 uploads with the image tasks limited to 2 concurrent invocations (issue 12).

Every upload ends as it would without the limit (PROCESSED or REJECTED), none FAILED: throttled invocations
wait in the ASL's throttle Retry until a slot frees.
"""

from __future__ import annotations

import pytest

from imgflow_tools.local import moto_adapter
from imgflow_tools.local.cloud import LocalCloud, function_name
from imgflow_tools.ops import stack as stacks
from imgflow_tools.soak.burst import burst_files, run_burst


@pytest.mark.slow
def test_a_burst_of_200_uploads_at_concurrency_2_ends_as_without_the_limit(cloud: LocalCloud) -> None:
    files = burst_files(200)
    assert {f.expected for f in files} == {"PROCESSED", "REJECTED"}
    moto_adapter.concurrency.reset()  # counts from here on
    # Throttle waits (up to 60 s in the ASL) run at half: the Retry's patience (~13 min -> ~6.5 min) stays far
    # above this backlog's drain (1-2 min on a busy 2-core machine), the tail after the last free slot short.
    # Task timeouts x10: 200 executions share one process here, and a handler's wall time includes its wait
    # for the GIL (moto_adapter 8.).
    try:
        with (
            moto_adapter.time_scale(0.5, variable="IMGFLOW_LOCAL_THROTTLE_TIME_SCALE"),
            moto_adapter.time_scale(10, variable="IMGFLOW_LOCAL_TASK_TIMEOUT_SCALE"),
        ):
            stack = stacks.local(cloud.endpoint, cloud.settings)
            report = run_burst(stack, cloud.settings, files, concurrency=2, timeout=400)
    finally:
        cloud.set_concurrency(None)

    assert report.statuses == {"PROCESSED": 180, "REJECTED": 20}, report.details()  # none FAILED
    assert (report.lost, report.wrong, report.stuck, report.duplicated) == (0, 0, 0, 0), report.line()
    assert report.records == 200 and report.failed_by_throttling == 0
    # The limit bit and held: invocations were refused (the histories count what the adapter refused), and
    # never more than 2 ran at once.
    assert report.throttled > 0
    assert report.throttled == moto_adapter.concurrency.total_throttled
    for task in ("validate", "resize", "extract_meta"):
        assert moto_adapter.concurrency.peak[function_name(task)] == 2, moto_adapter.concurrency.peak
