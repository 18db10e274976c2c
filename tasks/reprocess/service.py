"""reprocess: the Select and Summarize states of statemachine/reprocess.asl.json (AWS glue, plain functions).

Select writes the run's manifest to S3 (``.reprocess/<run_id>/manifest.json`` in the renditions bucket);
a restarted run with the same run id reuses it, so its ingest executions get the same names and a
second start of the same work is refused (ExecutionAlreadyExists). Summarize reads the outcome of each
image from its record (the Distributed Map reports no child failures on moto, and its result files would
cost a read of their own in AWS); it works in slices within the Lambda's time and the ASL loops.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from imgflow import objects
from imgflow.config import Settings
from imgflow.errors import SourceMissing
from imgflow.records import ImageRepository, Status
from imgflow.records.repository import now_iso
from tasks.reprocess import selection as sel

#: Summary keys, in the order the CLI prints them.
COUNTS = (
    "selected",
    "started",
    "already_running",
    "succeeded",
    "rejected",
    "failed",
    "expired",
    "skipped",
    "running",
)
SLICE = 500


def _put_json(bucket: str, key: str, value: Any) -> None:
    objects.write(
        bucket, key, json.dumps(value).encode(), content_type="application/json", cache_control=None
    )


def _get_json(bucket: str, key: str) -> Any | None:
    try:
        return json.loads(objects.read(bucket, key))
    except SourceMissing:
        return None


def select(
    raw_request: dict[str, Any],
    *,
    execution_arn: str,
    execution_name: str,
    ingest_arn: str,
    settings: Settings,
) -> dict[str, Any]:
    """Select the images, write the manifest (or reuse the one of a restarted run), return the run."""
    request = sel.parse_request(raw_request, default_run_id=execution_name)
    bucket = settings.renditions_bucket
    key = sel.manifest_key(request.run_id)
    info_key = key.replace("manifest.json", "selection.json")
    info = _get_json(bucket, info_key)
    restarted = info is not None and _get_json(bucket, key) is not None
    if not restarted:
        chosen = sel.select(request, settings)
        items = sel.manifest(chosen, settings, request.run_id, ingest_arn=ingest_arn)
        _put_json(bucket, key, items)
        info = {
            "selected": len(items),
            "expired": chosen.expired,
            "skipped": chosen.skipped,
            "truncated": chosen.truncated,
            "request": raw_request,
        }
        _put_json(bucket, info_key, info)  # written last: its presence means the manifest is complete
    assert info is not None
    run: dict[str, Any] = {
        "run_id": request.run_id,
        "mode": request.mode,
        "bucket": bucket,
        "manifest_key": key,
        "selected": info["selected"],
        "expired": info["expired"],
        "skipped": info["skipped"],
        "truncated": info["truncated"],
        "restarted": restarted,
        "pipeline_version": settings.pipeline_version,
        "max_concurrency": settings.reprocess.max_concurrency,
        "tolerated_failure_percentage": float(settings.reprocess.tolerated_failure_percentage),
        "ingest_arn": ingest_arn,
        "execution_arn": execution_arn,
        "attempt_started_at": now_iso(),
        "cursor": 0,
        "done": False,
        "counts": {},
    }
    if info["truncated"] and request.mode == "stale":
        # Converges: what this part runs ends on the current version, so the next part selects the rest.
        part = sel.next_part(request.run_id)
        run["continue_with"] = {**raw_request, "run_id": part}
        run["continue_name"] = part
    return run


def child_arn(ingest_arn: str, name: str) -> str:
    return ingest_arn.replace(":stateMachine:", ":execution:", 1) + ":" + name


def classify(
    item: dict[str, Any], record: dict[str, Any] | None, *, ingest_arn: str, before: str = ""
) -> list[str]:
    """The summary counters one manifest item adds to, read from its record. ``before``: when this
    attempt of a restarted run began; a run of it claimed earlier was started by an earlier attempt."""
    mine = child_arn(ingest_arn, item["name"])
    owned = record is not None and record.get("execution_arn") == mine
    out = []
    if owned and record and before and record.get("claimed_at", "") < before:
        out.append("already_running")
    elif owned:
        out.append("started")
    status = record.get("status") if record and owned else None
    out.append(
        {
            Status.PROCESSED: "succeeded",
            Status.REJECTED: "rejected",
            Status.FAILED: "failed",
            Status.PROCESSING: "running",
        }.get(Status(status), "skipped")
        if status
        else "skipped"  # another run owns it now (superseded, duplicate), or it was deleted
    )
    return out


def summarize(
    run: dict[str, Any], settings: Settings, *, time_left_ms: Callable[[], int] = lambda: 10**9
) -> dict[str, Any]:
    """Count outcomes from the records, a slice at a time; when done, write the summary to S3."""
    counts: dict[str, int] = {k: 0 for k in COUNTS}
    counts.update(run.get("counts") or {})
    cursor = int(run.get("cursor", 0))
    items: list[dict[str, Any]] = _get_json(run["bucket"], run["manifest_key"]) or []
    repo = ImageRepository(settings.table_name)
    since = run["attempt_started_at"] if run.get("restarted") else ""
    while cursor < len(items) and time_left_ms() > 20_000:
        batch = items[cursor : cursor + SLICE]
        records = repo.get_many([i["image_id"] for i in batch])
        for item in batch:
            for counter in classify(
                item,
                records.get(item["image_id"]),
                ingest_arn=run["ingest_arn"],
                before=since,
            ):
                counts[counter] += 1
        cursor += len(batch)
    done = cursor >= len(items)
    result = {**run, "cursor": cursor, "counts": counts, "done": done}
    if done:
        summary = summary_of(result)
        name = run["execution_arn"].rsplit(":", 1)[-1]
        _put_json(run["bucket"], sel.summary_key(run["run_id"], name), summary)
        result["summary"] = summary
    return result


def summary_of(run: dict[str, Any]) -> dict[str, Any]:
    counts = run["counts"]
    summary: dict[str, Any] = {
        "run_id": run["run_id"],
        "mode": run["mode"],
        "pipeline_version": run["pipeline_version"],
        "selected": run["selected"] + run["expired"],
        **{k: counts.get(k, 0) for k in COUNTS if k != "selected"},
    }
    summary["expired"] = run["expired"]
    summary["skipped"] = counts.get("skipped", 0) + run["skipped"]
    summary["truncated"] = run["truncated"]
    summary["manifest"] = f"s3://{run['bucket']}/{run['manifest_key']}"
    if run.get("continue_name"):
        summary["continued_as"] = run["continue_name"]
    if run.get("map_error"):
        summary["map_error"] = run["map_error"]
    return summary
