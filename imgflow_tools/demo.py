"""``imgflow demo``: real images through the real workflow, on the local stack, end to end.

Each file takes the path an app's upload takes in AWS: a presigned POST from the API's code path, an HTTP
upload to the S3 endpoint, the Object Created event, the ingest state machine, the final record.
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from imgflow.records import ImageRepository
from imgflow.records.table import FINAL_STATUSES
from imgflow.uploads import content_type_for, presign_upload
from imgflow_tools.local.cloud import LocalCloud
from imgflow_tools.local.post_policy import S3PolicyGate
from imgflow_tools.ops.errors import CommandError
from imgflow_tools.pacing import DEMO_MAX_IN_FLIGHT, paced_map, running_executions
from imgflow_tools.samples import write_samples

DEMO_OWNER = "demo"
#: Files in a folder that are documentation next to images, not uploads.
SKIPPED_SUFFIXES = {".json", ".md", ".txt", ".rst", ".gz", ".csv"}
SKIPPED_PREFIXES = ("LICENSE", "README", "MANIFEST", ".")


@dataclass
class Upload:
    path: Path
    image_id: str = ""
    http_status: int = 0
    http_error: str = ""


def input_files(directory: Path) -> list[Path]:
    """Every file under ``directory`` that could be an upload (content decides what it is)."""
    return sorted(
        p
        for p in directory.rglob("*")
        if p.is_file()
        and p.suffix.lower() not in SKIPPED_SUFFIXES
        and not p.name.startswith(SKIPPED_PREFIXES)
        and not any(part.startswith(".") for part in p.relative_to(directory).parts)
    )


def files_of(paths: Iterable[Path]) -> list[Path]:
    """The files named, and the uploadable files under the folders named (``input_files``), in order, once."""
    files: dict[Path, None] = {}
    for path in paths:
        files.update(dict.fromkeys(input_files(path) if path.is_dir() else [path]))
    return list(files)


def upload(path: Path, cloud: LocalCloud, session: requests.Session) -> Upload:
    """Presign (API code path) and POST the file over HTTP, as a browser would."""
    result = Upload(path)
    content_type = content_type_for(path.name)
    data = path.read_bytes()
    presigned = presign_upload(
        owner=DEMO_OWNER,
        filename=path.name,
        content_type=content_type,
        size=len(data),
        settings=cloud.settings,
    )
    result.image_id = presigned.image_id
    response = session.post(
        presigned.url, data=presigned.fields, files={"file": (path.name, data, content_type)}, timeout=60
    )
    result.http_status = response.status_code
    if response.status_code >= 300:
        result.http_error = response.text[:300]
    return result


def wait_for_records(
    cloud: LocalCloud, uploads: list[Upload], *, timeout: float, progress: bool
) -> dict[str, dict[str, Any]]:
    """Wait until every upload has a final record and its execution has ended (or time runs out).

    Polls the executions, not each record: one cheap call a round however many images are in flight.
    """
    repo = ImageRepository(cloud.settings.table_name)
    sfn = cloud.client("stepfunctions")
    pending = {u.image_id for u in uploads if u.http_status < 300}
    done: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    last_report = 0.0
    while pending and time.monotonic() < deadline:
        running = sfn.list_executions(stateMachineArn=cloud.ingest_arn, statusFilter="RUNNING", maxResults=1)
        if not running["executions"]:
            for image_id in list(pending):
                record = repo.get(image_id)
                if record and record.get("status") in FINAL_STATUSES:
                    record["_execution"] = sfn.describe_execution(executionArn=record["execution_arn"])
                    done[image_id] = record
                    pending.discard(image_id)
        if progress and time.monotonic() - last_report > 5:
            ended = len(cloud.executions()) - len(running["executions"])
            print(f"  {ended}/{len(pending) + len(done)} runs ended", file=sys.stderr)
            last_report = time.monotonic()
        if pending:
            time.sleep(0.2)
    for image_id in pending:  # no final record in time: report what the table says
        done[image_id] = repo.get(image_id) or {"status": "MISSING"}
    return done


def result_row(up: Upload, record: dict[str, Any]) -> dict[str, Any]:
    """One JSON object per input file (the ``--json`` contract)."""
    execution = record.get("_execution") or {}
    duration = None
    if execution.get("stopDate") and execution.get("startDate"):
        duration = round((execution["stopDate"] - execution["startDate"]).total_seconds(), 3)
    exif = record.get("exif")
    return {
        "file": str(up.path),
        "image_id": up.image_id,
        "status": record.get("status") if up.http_status < 300 else "UPLOAD_REFUSED",
        "reason": record.get("reason") or (up.http_error or None),
        "width": record.get("width"),
        "height": record.get("height"),
        "format": record.get("format"),
        "renditions": [
            {k: r.get(k) for k in ("name", "width", "height", "format", "bytes", "key")}
            for r in record.get("renditions") or []
        ],
        "exif": exif,
        # REJECTED: {type, message} with the reason in words; FAILED: the error.
        "error": record.get("error") if record.get("status") in ("REJECTED", "FAILED") else None,
        "execution_arn": record.get("execution_arn"),
        "duration_s": duration,
    }


#: Every line the demo prints fits a terminal this wide.
WIDTH = 100


def _camera(exif: dict[str, Any] | None) -> str:
    if not exif:
        return ""
    return " ".join(x for x in (exif.get("make"), exif.get("model")) if x)[:40]


def _gps(exif: dict[str, Any] | None) -> str:
    gps = (exif or {}).get("gps") or {}
    if gps.get("lat") is None or gps.get("lon") is None:
        return ""
    return f"{gps['lat']:.5f},{gps['lon']:.5f}"


def _why(row: dict[str, Any]) -> str:
    """``code: message`` of a rejection or failure."""
    error = row["error"] or {}
    code = row["reason"] or error.get("type") or ""
    message = error.get("message") or ""
    return f"{code}: {message}"[:300] if code and message and message != code else code


#: The table's columns (the README names them): size is the display size, after EXIF orientation;
#: renditions are the distinct sizes made; run s is the execution's duration (see ``table_notes``).
TABLE_COLUMNS = ("file", "status", "size", "renditions", "run s")
#: What a row may have on indented lines under it, each as ``name: value`` (the README names them too).
ROW_DETAILS = ("camera", "taken at", "GPS", "reason")


def shared_encodings(row: dict[str, Any]) -> list[list[str]]:
    """Names of renditions that share one encoding (one key): an image smaller than a size is not upscaled."""
    by_key: dict[str, list[str]] = {}
    for r in row["renditions"]:
        by_key.setdefault(r["key"], []).append(r["name"])
    return [names for names in by_key.values() if len(names) > 1]


def table_notes(rows: list[dict[str, Any]]) -> list[str]:
    """What the numbers mean, under the table: the run time includes queueing; shared encodings."""
    notes = [
        f"run s: each file's execution, start to final record, including the time it queued behind the other "
        f"{len(rows) - 1} files (sent 8 at a time while fewer than {DEMO_MAX_IN_FLIGHT} run; the local "
        "engine shares this machine's CPUs)."
        if len(rows) > 1
        else "run s: the file's execution, start to final record."
    ]
    shared = [(Path(r["file"]).name, names) for r in rows for names in shared_encodings(r)]
    if shared:
        name, names = shared[0]
        smaller = len({n for n, _ in shared})
        notes.append(
            f"renditions: the distinct sizes. {smaller} file(s) are smaller than a rendition size, and "
            f"renditions of the same size share one encoding (e.g. {name}: {' and '.join(names)} are one "
            "object in S3, one file in --out)."
        )
    return notes


def _shorten(text: str, width: int) -> str:
    """``text`` in ``width`` characters: the middle of a long name gives way to '...'."""
    if len(text) <= width:
        return text
    head = (width - 3) // 2
    return text[:head] + "..." + text[len(text) - (width - 3 - head) :]


def _details(row: dict[str, Any]) -> list[str]:
    """The indented lines under a row: camera, taken at and GPS (as many on a line as fit), the reason."""
    exif = row["exif"] or {}
    found = zip(ROW_DETAILS, (_camera(exif), exif.get("taken_at") or "", _gps(exif), _why(row)), strict=True)
    lines: list[str] = []
    for name, value in found:
        item = f"{name}: {value}"
        if name == "reason" and value:
            lines += textwrap.wrap(item, WIDTH - 4, subsequent_indent="  ")
        elif value and lines and len(lines[-1]) + 2 + len(item) <= WIDTH - 4:
            lines[-1] += "  " + item
        elif value:
            lines.append(item[: WIDTH - 4])
    return ["    " + line for line in lines]


def format_table(rows: Iterable[dict[str, Any]]) -> str:
    """One line per file (``TABLE_COLUMNS``), its details indented under it; no line wider than ``WIDTH``."""
    rows = list(rows)
    lines: list[tuple[str, ...]] = [TABLE_COLUMNS]
    for row in rows:
        size = f"{row['width']}x{row['height']}" if row["width"] else ""
        rends = " ".join(dict.fromkeys(f"{r['width']}x{r['height']}" for r in row["renditions"]))
        seconds = f"{row['duration_s']:.2f}" if row["duration_s"] is not None else ""
        lines.append((Path(row["file"]).name, row["status"] or "", size, rends, seconds))
    widths = [max(len(line[i]) for line in lines) for i in range(len(TABLE_COLUMNS))]
    # The file column gives way when the others need the room (long names keep their start and end).
    widths[0] = max(12, min(widths[0], WIDTH - sum(widths[1:]) - 2 * (len(widths) - 1)))
    out = []
    for i, line in enumerate(lines):
        cells = (_shorten(line[0], widths[0]), *line[1:])
        out.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()[:WIDTH])
        if i:
            out += _details(rows[i - 1])
    return "\n".join(out)


def write_out(out: Path, cloud: LocalCloud, rows: list[dict[str, Any]]) -> str:
    """Renditions and records of each file under ``out``; returns what was written, in words.

    Renditions that share one encoding (see ``shared_encodings``) are one object, so one file.
    """
    s3 = cloud.client("s3")
    (out / "records").mkdir(parents=True, exist_ok=True)
    with (out / "results.jsonl").open("w") as results:
        for row in rows:
            results.write(json.dumps(row) + "\n")
            stem = f"{Path(row['file']).name}.{row['image_id']}"
            (out / "records" / f"{stem}.json").write_text(json.dumps(row, indent=2) + "\n")
            for rendition in row["renditions"]:
                target = out / "renditions" / stem / Path(rendition["key"]).name
                target.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(cloud.settings.renditions_bucket, rendition["key"], str(target))
    listed = sum(len(row["renditions"]) for row in rows)
    files = len({(row["image_id"], r["key"]) for row in rows for r in row["renditions"]})
    shared = "" if files == listed else ", fewer than renditions because renditions of one size share a file"
    return f"written to {out}: {len(rows)} records, {files} rendition files for {listed} renditions{shared}"


def upload_paced(files: list[Path], cloud: LocalCloud, session: requests.Session) -> list[Upload]:
    """Upload ``files`` 8 at a time while fewer than ``DEMO_MAX_IN_FLIGHT`` executions run."""
    sfn = cloud.client("stepfunctions")
    return paced_map(
        lambda p: upload(p, cloud, session),
        files,
        running=lambda: running_executions(sfn, cloud.ingest_arn),
        max_in_flight=DEMO_MAX_IN_FLIGHT,
    )


def run_demo(paths: list[Path], *, as_json: bool, out: Path | None, timeout: float = 600.0) -> int:
    """The main job: the files and folders of ``paths`` (none: the generated samples). Exit status 0 when
    every file reached a final record."""
    with tempfile.TemporaryDirectory(prefix="imgflow-demo-") as tmp:
        if not paths:
            files = write_samples(Path(tmp) / "samples")
            print(f"imgflow demo: {len(files)} generated sample images", file=sys.stderr)
        else:
            files = files_of(paths)
            named = str(paths[0]) + (f" and {len(paths) - 1} more" if len(paths) > 1 else "")
            if not files:
                raise CommandError(
                    f"no files to send in {named}", "name image files, or folders that hold some"
                )
            print(f"imgflow demo: {len(files)} files from {named}", file=sys.stderr)
        started = time.monotonic()
        # Whatever runs in-process prints to stderr; stdout carries only the results (the --json contract).
        # The S3 endpoint enforces presigned POST policies as S3 does (moto alone accepts anything).
        gate = S3PolicyGate.wrap()
        with contextlib.redirect_stdout(sys.stderr), LocalCloud(middleware=gate) as cloud:
            print(
                f"  local stack on {cloud.endpoint} (moto: S3, DynamoDB, EventBridge, Step Functions)",
                file=sys.stderr,
            )
            with requests.Session() as session:
                uploads = upload_paced(files, cloud, session)
            records = wait_for_records(cloud, uploads, timeout=timeout, progress=len(files) > 20)
            rows = [result_row(u, records.get(u.image_id, {"status": "MISSING"})) for u in uploads]
            written = write_out(out, cloud, rows) if out else ""
        if as_json:
            for row in rows:
                print(json.dumps(row))
        else:
            print(format_table(rows))
            print("\n".join(["", *(textwrap.fill(note, WIDTH) for note in table_notes(rows))]))
        final = sum(1 for r in rows if r["status"] in FINAL_STATUSES)
        print(
            f"{final}/{len(rows)} files reached a final record in {time.monotonic() - started:.1f}s"
            + (f"; {written}" if written else ""),
            file=sys.stderr,
        )
        return 0 if final == len(rows) else 1
