"""A burst: N uploads at once on the local stack, the functions' concurrency enforced at a small limit.

``imgflow soak --burst`` runs it; the suite runs a 200-upload version (tests/workflow/test_burst.py). Every
upload takes the app's path (presigned POST from the API's code path, HTTP upload through the policy gate),
all of them within a second or two, while validate, resize and extract_meta may run only ``concurrency`` at
once (moto_adapter 8.: an invocation over the limit is refused with Lambda.TooManyRequestsException, as in
AWS).
Outcomes are read from the records and the execution histories, as an operator would.
"""

from __future__ import annotations

import io
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from PIL import Image

from imgflow.config import Settings
from imgflow.records import ImageRepository
from imgflow.records import table as t
from imgflow.records.table import FINAL_STATUSES, Status
from imgflow.uploads import content_type_for, presign_upload
from imgflow.workflow.functions import TASKS, reserved_concurrency
from imgflow_tools.local.cloud import function_name
from imgflow_tools.ops import stack as stacks
from imgflow_tools.ops.errors import CommandError
from imgflow_tools.soak import soak
from imgflow_tools.soak.stack import soak_stack, wait_quiet
from imgflow_tools.soak.tally import Tally

OWNER = "burst"
#: Task timeouts of an in-process burst, stretched (moto_adapter 8.).
BURST_TASK_TIMEOUT_SCALE = 10.0
THROTTLED = "Lambda.TooManyRequestsException"
#: Final states of the ingest workflow that wrote a record (a run that did the work).
RECORDING_STATES = {"RecordProcessed", "RecordRejected", "RecordFailed"}


@dataclass(frozen=True)
class BurstFile:
    name: str
    data: bytes
    content_type: str
    #: The final status this file gets with no limit and no faults (known by construction).
    expected: str


def burst_files(n: int, *, seed: int = 12) -> list[BurstFile]:
    """``n`` small uploads: JPEG and PNG of varied sizes, one in ten broken (truncated or not an image)."""
    rng = random.Random(seed)
    files = []
    for i in range(n):
        w, h = rng.randint(64, 480), rng.randint(64, 480)
        image = Image.linear_gradient("L").resize((w, h)).convert("RGB")
        buf = io.BytesIO()
        if i % 10 == 9:
            if i % 20 == 9:
                image.save(buf, "JPEG", quality=80)
                files.append(
                    BurstFile(f"cut-{i}.jpg", buf.getvalue()[: buf.tell() // 2], "image/jpeg", "REJECTED")
                )
            else:
                files.append(
                    BurstFile(f"text-{i}.png", b"not an image at all\n" * 20, "image/png", "REJECTED")
                )
            continue
        if i % 3 == 0:
            image.save(buf, "PNG")
            files.append(BurstFile(f"img-{i}.png", buf.getvalue(), "image/png", "PROCESSED"))
        else:
            image.save(buf, "JPEG", quality=rng.randint(70, 92))
            files.append(BurstFile(f"img-{i}.jpg", buf.getvalue(), "image/jpeg", "PROCESSED"))
    return files


@dataclass
class BurstReport(Tally):
    """The soak counts of a burst, with what the concurrency limit did to it."""

    wall_s: float = 0.0
    throttled: int = 0
    drain_s: float = 0.0
    upload_s: float = 0.0
    failed: int = 0
    failed_by_throttling: int = 0
    transitions_per_image: float = 0.0
    max_transitions: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    #: What GET /images shows meanwhile: (seconds since the first upload, PENDING, PROCESSING, final).
    timeline: list[tuple[float, int, int, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every upload ended as without the limit, once, and none FAILED because of throttling."""
        return super().ok and self.failed_by_throttling == 0

    def line(self) -> str:
        """The soak line, with the burst's fields."""
        return f"{self.soak_line(self.wall_s)} throttled={self.throttled} drain_s={self.drain_s:.1f}"

    def details(self) -> str:
        peak_pending = max((p for _, p, _, _ in self.timeline), default=0)
        peak_processing = max((q for _, _, q, _ in self.timeline), default=0)
        return (
            f"burst statuses={dict(sorted(self.statuses.items()))} failed={self.failed} "
            f"failed_by_throttling={self.failed_by_throttling} upload_s={self.upload_s:.1f} "
            f"transitions_per_image={self.transitions_per_image:.2f} max_transitions={self.max_transitions} "
            f"peak_pending={peak_pending} "
            f"peak_processing={peak_processing}"
        )


def _count(ddb: Any, table: str, status: Status) -> int:
    total, start = 0, None
    while True:
        kwargs: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
        page = ddb.query(
            TableName=table,
            IndexName=t.BY_STATUS,
            KeyConditionExpression="gsi2pk = :s",
            ExpressionAttributeValues={":s": {"S": t.status_pk(status)}},
            Select="COUNT",
            **kwargs,
        )
        total += page["Count"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return total


def set_concurrency(stack: stacks.Stack, limit: int | None) -> None:
    """Reserve the image tasks' concurrency of a local stack at ``limit`` (None: as deployed), as the CDK
    app would, through the Lambda API (so it works on ``imgflow serve``'s stack too)."""
    if not stack.is_local:
        raise CommandError("a burst changes reserved concurrency: local stacks only", "pass --endpoint")
    lam = stack.client("lambda")
    for spec in TASKS:
        reserved = reserved_concurrency(spec, limit)
        if reserved is None:
            lam.delete_function_concurrency(FunctionName=function_name(spec.name))
        else:
            lam.put_function_concurrency(
                FunctionName=function_name(spec.name), ReservedConcurrentExecutions=reserved
            )


def _executions(stack: stacks.Stack) -> list[dict[str, Any]]:
    pages = (
        stack.client("stepfunctions")
        .get_paginator("list_executions")
        .paginate(stateMachineArn=stack.ingest_arn)
    )
    return [e for page in pages for e in page["executions"]]


def run_burst(
    stack: stacks.Stack,
    settings: Settings,
    files: list[BurstFile],
    *,
    concurrency: int | None,
    timeout: float = 1800.0,
    workers: int = 16,
    progress: Callable[[str], None] | None = None,
) -> BurstReport:
    """Upload every file at once with the image tasks limited to ``concurrency``; wait; read the outcome."""
    say = progress or (lambda _: None)
    set_concurrency(stack, concurrency)
    report = BurstReport(uploads=len(files))
    sfn, ddb = stack.client("stepfunctions"), stack.client("dynamodb")
    repo = ImageRepository(stack.table_name, client=ddb)
    known = {e["executionArn"] for e in _executions(stack)}

    # The app asks for every upload first (PENDING records, as the API creates them), then the browser sends
    # them all at once.
    tickets = [
        presign_upload(
            owner=OWNER, filename=f.name, content_type=f.content_type, size=len(f.data), settings=settings
        )
        for f in files
    ]
    expected = {ticket.image_id: f.expected for ticket, f in zip(tickets, files, strict=True)}
    local = threading.local()

    def send(pair: tuple[Any, BurstFile]) -> int:
        ticket, f = pair
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        response = session.post(
            ticket.url, data=ticket.fields, files={"file": (f.name, f.data, f.content_type)}, timeout=120
        )
        return int(response.status_code)

    started = time.monotonic()
    started_wall = time.time()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        codes = list(pool.map(send, zip(tickets, files, strict=True)))
    report.upload_s = time.monotonic() - started
    refused = [c for c in codes if c >= 300]
    if refused:
        say(f"{len(refused)} uploads refused by the S3 endpoint: {Counter(refused)}")
    say(f"{len(files)} uploads sent in {report.upload_s:.1f}s; draining with concurrency {concurrency}")

    deadline = started + timeout
    last_say = 0.0
    while time.monotonic() < deadline:
        elapsed = time.monotonic() - started
        pending = _count(ddb, stack.table_name, Status.PENDING)
        processing = _count(ddb, stack.table_name, Status.PROCESSING)
        running = sfn.list_executions(stateMachineArn=stack.ingest_arn, statusFilter="RUNNING", maxResults=1)
        report.timeline.append((round(elapsed, 1), pending, processing, len(files) - pending - processing))
        if time.monotonic() - last_say > 10:
            say(f"  t={elapsed:5.0f}s PENDING={pending} PROCESSING={processing}")
            last_say = time.monotonic()
        if not pending and not processing and not running["executions"]:
            break
        time.sleep(1.0)
    report.wall_s = time.monotonic() - started

    # Outcomes, from the records and the execution histories, as an operator reads them.
    runs = [e for e in _executions(stack) if e["executionArn"] not in known]
    report.stuck = sum(1 for e in runs if e["status"] == "RUNNING")
    stopped = [e["stopDate"].timestamp() for e in runs if e.get("stopDate")]
    report.drain_s = max(stopped) - started_wall if stopped else report.wall_s
    recorded_by: Counter[str] = Counter()
    transitions: list[int] = []
    for run in runs:
        events = sfn.get_execution_history(executionArn=run["executionArn"], maxResults=1000)["events"]
        entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
        scheduled = sum(1 for e in events if e["type"] == "TaskScheduled")
        retries = scheduled - sum(1 for e in events if e["type"] == "TaskStateEntered")
        report.retries += retries
        report.throttled += sum(
            1
            for e in events
            if e["type"] == "TaskFailed" and e["taskFailedEventDetails"]["error"] == THROTTLED
        )
        transitions.append(len(entered) + retries)
        if RECORDING_STATES & set(entered):
            key = sfn.describe_execution(executionArn=run["executionArn"])["input"]
            recorded_by.update(image_id for image_id in expected if image_id in key)
    report.duplicated = sum(1 for n in recorded_by.values() if n > 1)
    if transitions:
        report.transitions_per_image = sum(transitions) / len(files)
        report.max_transitions = max(transitions)
    statuses: Counter[str] = Counter()
    for image_id, want in expected.items():
        record = repo.get(image_id) or {}
        status = record.get("status", "MISSING")
        statuses[status] += 1
        if status not in FINAL_STATUSES:
            report.lost += 1
            continue
        report.records += 1
        if status != want:
            report.wrong += 1
        if status == Status.FAILED:
            report.failed += 1
            if (record.get("error") or {}).get("type") == THROTTLED:
                report.failed_by_throttling += 1
    report.statuses = dict(statuses)
    return report


def soak_burst(
    *,
    images: int,
    concurrency: int,
    endpoint: str | None = None,
    corpus: Path | None = None,
    timeout_s: float = 1800.0,
    log: Callable[[str], None],
) -> BurstReport:
    """``imgflow soak --burst``: soak's files and baseline, then all ``images`` uploads at once."""
    import itertools
    import tempfile

    from imgflow_tools.local import faults, moto_adapter

    settings = Settings.from_env()
    # An in-process stack runs every handler of the burst in this process: task timeouts measure the wait for
    # the GIL too, so they are stretched (moto_adapter 8.); throttle waits stay real.
    timeouts = float(os.environ.get("IMGFLOW_LOCAL_TASK_TIMEOUT_SCALE", BURST_TASK_TIMEOUT_SCALE))
    with (
        moto_adapter.time_scale(timeouts, variable="IMGFLOW_LOCAL_TASK_TIMEOUT_SCALE"),
        tempfile.TemporaryDirectory(prefix="imgflow-burst-") as tmp,
        soak_stack(endpoint, settings) as (stack, url),
    ):
        faults.set_remote(url, "off")
        distinct = soak.soak_files(Path(tmp), corpus, settings)
        log(f"baseline: {len(distinct)} distinct files, one at a time through the limit")
        set_concurrency(stack, concurrency)
        baseline = soak.upload_all(distinct, settings)
        wait_quiet(stack, url, timeout_s=timeout_s)
        repo = ImageRepository(stack.table_name, client=stack.client("dynamodb"))
        expected = {u.file.name: str((repo.get(u.image_id) or {}).get("status", "MISSING")) for u in baseline}
        log("expected: " + ", ".join(f"{n}={s}" for n, s in expected.items()))
        chosen = list(itertools.islice(itertools.cycle(distinct), images))
        files = [
            BurstFile(p.name, p.read_bytes(), content_type_for(p.name), expected[p.name]) for p in chosen
        ]
        log(f"{images} uploads at once, validate/resize/extract_meta limited to {concurrency} concurrent")
        report = run_burst(stack, settings, files, concurrency=concurrency, timeout=timeout_s, progress=log)
        set_concurrency(stack, None)
    return report
