"""``imgflow soak``: many uploads through the real path with AWS failing on purpose, then the repair, then
the outcome read from the records like an operator would.

1. a baseline: each distinct file once, faults off (the status each file gets when nothing fails);
2. N uploads (valid and hostile files mixed) through the presigned POST path (the API's ``presign_upload``
   and the S3 policy gate of the local endpoint), with faults on (``imgflow_tools/local/faults.py``);
3. wait until no execution runs and no delayed delivery is pending, turn faults off;
4. the repair: ``imgflow_tools.ops.reprocess.run(stack, {"mode": "stuck"})``, then ``{"mode": "failed"}``;
5. count, from the records and the execution histories, and print exactly one line:
   ``soak uploads=N records=N lost=L duplicated=D stuck=S wrong=W retries=R wall_s=T``.

Without ``--endpoint`` it starts its own local stack in this process; with it, it drives ``imgflow serve``'s
(faults switched through the endpoint's ``/_imgflow/faults`` route).
"""

from __future__ import annotations

import itertools
import json
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from imgflow.config import Settings
from imgflow.records import ImageRepository
from imgflow.records.table import FINAL_STATUSES, Status
from imgflow_tools.ops import reprocess
from imgflow_tools.ops import stack as stacks
from imgflow_tools.pacing import paced_map
from imgflow_tools.soak.stack import running, soak_stack, wait_quiet
from imgflow_tools.soak.tally import Tally

SOAK_OWNER = "soak"
DEFAULT_FAULTS = "s3=0.2,dynamodb=0.2,lambda=0.1,drop=0.05,dup=0.3"
#: Rounds of the repair at most (it runs on a schedule; one round normally finishes everything).
REPAIR_ROUNDS = 3
#: States whose successful task wrote a final record.
_RECORD_STATES = {"RecordProcessed", "RecordRejected", "RecordFailed"}


@dataclass
class Upload:
    file: Path
    image_id: str = ""
    http_status: int = 0


@dataclass
class Outcome(Tally):
    """What the records and executions say about the uploads of the faulted phase."""

    statuses: Counter[str] = field(default_factory=Counter)
    details: list[str] = field(default_factory=list)


_T0 = time.monotonic()


def log(message: str) -> None:
    """One progress line on stderr, with the seconds since the soak module was loaded."""
    print(f"  [{time.monotonic() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


# -- files ------------------------------------------------------------------------------------------------
def soak_files(directory: Path, corpus: Path | None, settings: Settings) -> list[Path]:
    """The generated sample set (valid and hostile), plus the uploadable files of ``corpus``."""
    from imgflow_tools.demo import input_files
    from imgflow_tools.samples import write_samples

    files = write_samples(directory)
    if corpus:
        files += [p for p in input_files(corpus) if 0 < p.stat().st_size <= settings.limits.max_bytes]
    return files


def upload(path: Path, settings: Settings, session: requests.Session) -> Upload:
    """What an app does: ask for a presigned POST (the API's code path), then POST the file to S3."""
    from imgflow.uploads import content_type_for, presign_upload

    data = path.read_bytes()
    content_type = content_type_for(path.name)
    ticket = presign_upload(
        owner=SOAK_OWNER, filename=path.name, content_type=content_type, size=len(data), settings=settings
    )
    response = session.post(
        ticket.url, data=ticket.fields, files={"file": (path.name, data, content_type)}, timeout=60
    )
    return Upload(path, ticket.image_id, response.status_code)


def upload_all(
    files: list[Path],
    settings: Settings,
    *,
    stack: stacks.Stack | None = None,
    max_in_flight: int = 0,
    workers: int = 8,
) -> list[Upload]:
    """Upload ``files`` ``workers`` at a time; with ``max_in_flight``, wait while that many executions run.

    The local stack runs every Lambda in one process: without a cap, a thousand uploads would start a
    thousand executions at once and time out on CPU, not on faults (``imgflow soak --burst`` is for that).
    """

    def progress(done: int) -> None:
        if len(files) > 100 and (done // workers) % 25 == 1:
            log(f"{done}/{len(files)} uploaded")

    with requests.Session() as session:
        return paced_map(
            lambda p: upload(p, settings, session),
            files,
            workers=workers,
            running=None if stack is None else lambda: running(stack),
            max_in_flight=max_in_flight,
            progress=progress,
        )


# -- repair -----------------------------------------------------------------------------------------------
def repair(stack: stacks.Stack, endpoint: str, *, timeout_s: float) -> list[dict[str, Any]]:
    """The scheduled repair, run now: stuck records (PENDING with an original, PROCESSING with no live
    run), then FAILED ones; returns the summaries."""
    summaries = []
    requests_: list[dict[str, Any]] = [{"mode": "stuck", "older_than_s": 0}, {"mode": "failed"}]
    for request in requests_:
        summary = reprocess.run(stack, request)
        summaries.append({"mode": request["mode"], **summary})
        wait_quiet(stack, endpoint, timeout_s=timeout_s)
    return summaries


# -- reading the outcome ----------------------------------------------------------------------------------
def _history(stack: stacks.Stack, arn: str) -> list[dict[str, Any]]:
    sfn = stack.client("stepfunctions")
    return list(sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"])


def _run_facts(stack: stacks.Stack, arn: str) -> tuple[str, str, str, bool, int]:
    """(image_id, event source, sequencer, wrote a final record, retried task attempts) of one run."""
    sfn = stack.client("stepfunctions")
    event = json.loads(sfn.describe_execution(executionArn=arn)["input"])
    key = event.get("detail", {}).get("object", {}).get("key", "")
    sequencer = event.get("detail", {}).get("object", {}).get("sequencer", "")
    state, wrote, scheduled, entered = "", False, 0, 0
    for e in _history(stack, arn):
        if "stateEnteredEventDetails" in e:
            state = e["stateEnteredEventDetails"]["name"]
            entered += e["type"] == "TaskStateEntered"
        scheduled += e["type"] == "TaskScheduled"
        if e["type"] == "TaskSucceeded" and state in _RECORD_STATES:
            wrote = True
    return key.rsplit("/", 1)[-1], str(event.get("source")), sequencer, wrote, scheduled - entered


def read_outcome(
    stack: stacks.Stack,
    uploads: list[Upload],
    expected: dict[str, str],
    *,
    workers: int = 4,
    histories: bool = True,
) -> Outcome:
    """Count from the records (final status per upload) and the execution histories (who wrote it)."""
    repo = ImageRepository(stack.table_name, client=stack.client("dynamodb"))
    out = Outcome(uploads=sum(1 for u in uploads if u.http_status < 300))
    ids = {u.image_id for u in uploads if u.http_status < 300}
    for u in uploads:
        if u.http_status >= 300:
            continue
        record = repo.get(u.image_id) or {}
        status = str(record.get("status", "MISSING"))
        out.statuses[status] += 1
        if status in FINAL_STATUSES:
            out.records += 1
            if status != expected[u.file.name]:
                out.wrong += 1
                error = (record.get("error") or {}).get("type", "")
                out.details.append(
                    f"wrong: {u.file.name} {u.image_id} {status} {error} (expected {expected[u.file.name]})"
                )
        elif status == Status.PROCESSING:
            out.stuck += 1
            out.details.append(f"stuck: {u.file.name} {u.image_id} PROCESSING")
        else:
            out.lost += 1
            out.details.append(f"lost: {u.file.name} {u.image_id} {status}")
    if not histories:
        return out
    sfn = stack.client("stepfunctions")
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=stack.ingest_arn)
    arns = [e["executionArn"] for page in pages for e in page["executions"]]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        facts = [f for f in pool.map(lambda a: _run_facts(stack, a), arns) if f[0] in ids]
    writers: Counter[tuple[str, str, str]] = Counter()
    for image_id, source, sequencer, wrote, retried in facts:
        out.retries += retried
        writers[(image_id, source, sequencer)] += wrote
    for (image_id, _, _), count in writers.items():
        if count > 1:
            out.duplicated += 1
            out.details.append(f"duplicated: {image_id} written by {count} runs of one event")
    return out


# -- the run ----------------------------------------------------------------------------------------------
def soak(
    *,
    images: int,
    fault_spec: str,
    seed: int | None = None,
    endpoint: str | None = None,
    corpus: Path | None = None,
    timeout_s: float = 1800.0,
    max_in_flight: int = 16,
) -> Outcome:
    """The whole soak; returns the outcome (its ``line`` is what the command prints last)."""
    from imgflow_tools.local import faults

    faults.FaultSpec.parse(fault_spec, seed)  # a bad setting fails before anything starts
    settings = Settings.from_env()
    with (
        tempfile.TemporaryDirectory(prefix="imgflow-soak-") as tmp,
        soak_stack(endpoint, settings) as (stack, url),
    ):
        files = soak_files(Path(tmp), corpus, settings)
        faults.set_remote(url, "off")
        log(f"baseline: {len(files)} distinct files, faults off")
        baseline = upload_all(files, settings, stack=stack, max_in_flight=max_in_flight)
        wait_quiet(stack, url, timeout_s=timeout_s)
        repo = ImageRepository(stack.table_name, client=stack.client("dynamodb"))

        def baseline_statuses() -> dict[str, str]:
            return {u.file.name: str((repo.get(u.image_id) or {}).get("status", "MISSING")) for u in baseline}

        expected = baseline_statuses()
        if any(status not in FINAL_STATUSES for status in expected.values()):
            # Even with no faults an overloaded machine can time a task out: the repair finishes those.
            repair(stack, url, timeout_s=timeout_s)
            expected = baseline_statuses()
        log("expected: " + ", ".join(f"{n}={s}" for n, s in expected.items()))
        chosen = list(itertools.islice(itertools.cycle(files), images))
        # The endpoint counts injections since it started (a serve may have run soaks before): count this
        # soak's from a snapshot taken as its faults go on.
        state = faults.set_remote(url, fault_spec, seed)
        earlier = Counter(state["injected"])
        log(f"{images} uploads with faults {state['spec']}")
        uploads = upload_all(chosen, settings, stack=stack, max_in_flight=max_in_flight)
        refused = [u for u in uploads if u.http_status >= 300]
        if refused:
            log(f"{len(refused)} uploads refused by the S3 endpoint (status {refused[0].http_status})")
        wait_quiet(stack, url, timeout_s=timeout_s)
        state = faults.set_remote(url, "off")
        injected = Counter(state["injected"]) - earlier
        log("injected: " + (", ".join(f"{k}={v}" for k, v in sorted(injected.items())) or "nothing"))
        before = read_outcome(stack, uploads, expected, histories=False)
        log(
            f"before the repair: lost={before.lost} stuck={before.stuck} wrong={before.wrong} "
            + " ".join(f"{k}={v}" for k, v in sorted(before.statuses.items()))
        )
        # The repair runs on a schedule: run it again while a round leaves uploads unfinished (at most 3).
        for round_ in range(1, REPAIR_ROUNDS + 1):
            for summary in repair(stack, url, timeout_s=timeout_s):
                log(f"repair round {round_}: " + json.dumps(summary, default=str))
            left = read_outcome(stack, uploads, expected, histories=False)
            if not (left.lost or left.stuck):
                break
        outcome = read_outcome(stack, uploads, expected)
        log("final statuses: " + ", ".join(f"{k}={v}" for k, v in sorted(outcome.statuses.items())))
        for detail in outcome.details[:20]:
            log(detail)
    return outcome
