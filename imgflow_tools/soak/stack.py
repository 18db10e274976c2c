"""The stack a soak or a burst runs against, and waiting until it is quiet."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator

from imgflow import aws
from imgflow.config import Settings
from imgflow_tools import aws_keys
from imgflow_tools.ops import stack as stacks
from imgflow_tools.pacing import running_executions

#: Retry waits of a local stack started here: 1-120 s of the ASL become 10 ms-1.2 s.
DEFAULT_TIME_SCALE = 0.01


@contextlib.contextmanager
def soak_stack(endpoint: str | None, settings: Settings) -> Iterator[tuple[stacks.Stack, str]]:
    """(stack, AWS endpoint) to soak: ``imgflow serve``'s at ``endpoint``, or a local one started in this
    process (retry waits scaled by ``IMGFLOW_LOCAL_TIME_SCALE``, default ``DEFAULT_TIME_SCALE``)."""
    if endpoint:
        os.environ.update(
            AWS_ENDPOINT_URL=endpoint,
            # The operator's key of the local stacks (imgflow serve's endpoint accepts only signed calls).
            AWS_ACCESS_KEY_ID=aws_keys.operator_credentials()["access_key_id"],
            AWS_SECRET_ACCESS_KEY=aws_keys.operator_credentials()["secret_access_key"],
            AWS_DEFAULT_REGION=stacks.LOCAL_REGION,
        )
        os.environ.pop("AWS_SESSION_TOKEN", None)
        aws.client.cache_clear()
        yield stacks.local(endpoint, settings), endpoint
        return
    # moto loads only when a stack is started here (the command's --help stays quick).
    from imgflow_tools.local import moto_adapter
    from imgflow_tools.local.cloud import LocalCloud
    from imgflow_tools.local.post_policy import S3PolicyGate

    scale = float(os.environ.get("IMGFLOW_LOCAL_TIME_SCALE", DEFAULT_TIME_SCALE))
    with (
        contextlib.redirect_stdout(sys.stderr),
        moto_adapter.time_scale(scale),
        LocalCloud(settings=settings, middleware=S3PolicyGate.wrap()) as cloud,
    ):
        yield stacks.local(cloud.endpoint, settings), cloud.endpoint


def running(stack: stacks.Stack) -> int:
    """Ingest executions running now."""
    return running_executions(stack.client("stepfunctions"), stack.ingest_arn)


def wait_quiet(stack: stacks.Stack, endpoint: str, *, timeout_s: float) -> None:
    """Until no ingest execution runs and no delayed event is still to be delivered (twice in a row)."""
    from imgflow_tools.local import faults

    deadline = time.monotonic() + timeout_s
    quiet = 0
    while quiet < 2:
        if time.monotonic() > deadline:
            raise TimeoutError(f"executions still running after {timeout_s:.0f} s")
        idle = running(stack) == 0 and faults.get_remote(endpoint)["deliveries_in_flight"] == 0
        quiet = quiet + 1 if idle else 0
        time.sleep(0.3)
