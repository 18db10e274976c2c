"""Which images a reprocess run takes, and the manifest the Distributed Map reads (plain functions).

Every mode is a Query of the table's indexes, never a Scan:

- ``failed``: by_status ``STATUS#FAILED``.
- ``stuck``: by_status ``STATUS#PENDING`` older than the upload window (original present: its run; never
  came: ``EXPIRED``), and ``STATUS#PROCESSING`` whose execution is not running (run again, taking over
  from the dead run); in AWS also the upload events the rule dead-lettered.
- ``stale``: by_status of every stored status, sort key outside ``V<current>#...`` (two ranges: the version
  is a hash, "older" has no order).
- ``all``: by_status of every stored status.
With ``owner``, the by_owner index (``since``/``until`` on ``created_at``) replaces the status index.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from imgflow import keys, objects, queues
from imgflow.config import Settings
from imgflow.errors import SourceMissing
from imgflow.models import REPROCESS_DETAIL_TYPE, REPROCESS_SOURCE
from imgflow.records import ImageRepository, Status
from imgflow.records import table as t
from imgflow.records.repository import iso
from imgflow.records.table import STORED_STATUSES
from imgflow.workflow import executions

Mode = Literal["failed", "stuck", "stale", "all"]
MODES: tuple[str, ...] = ("failed", "stuck", "stale", "all")
#: Where runs keep their manifest and summary: a prefix no owner segment can collide with ('.').
RUNS_PREFIX = ".reprocess/"
#: Sequencer of a run for an upload whose event never came: below any S3 sequencer, so the real event,
#: should it arrive late, still wins the claim.
LOST_EVENT_SEQUENCER = "0"
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")
MAX_RUN_ID = 40


class InvalidReprocessRequest(ValueError):
    """The reprocess input is invalid (the run fails with this name, before selecting anything)."""


@dataclass(frozen=True)
class Request:
    mode: Mode
    run_id: str
    owner: str | None = None
    since: str | None = None
    until: str | None = None
    older_than_s: int | None = None
    max_images: int | None = None

    @classmethod
    def parse(cls, raw: dict[str, Any], default_run_id: str) -> Request:
        mode = raw.get("mode")
        if mode not in MODES:
            raise InvalidReprocessRequest(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        owner = raw.get("owner") or None
        if owner is not None and not keys.is_valid_segment(str(owner)):
            raise InvalidReprocessRequest("owner must be 1-128 characters of [A-Za-z0-9_-]")
        since, until = (_timestamp(raw.get(k), k) for k in ("since", "until"))
        if since and until and since > until:
            raise InvalidReprocessRequest("since is after until")
        older, limit = raw.get("older_than_s"), raw.get("max_images")
        for name, value, least in (("older_than_s", older, 0), ("max_images", limit, 1)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < least):
                raise InvalidReprocessRequest(f"{name} must be an integer of at least {least}")
        return cls(
            mode=mode,
            run_id=run_id(str(raw.get("run_id") or default_run_id)),
            owner=owner,
            since=since,
            until=until,
            older_than_s=older,
            max_images=limit,
        )


def parse_request(raw: dict[str, Any], default_run_id: str = "run") -> Request:
    """The checked request (``InvalidReprocessRequest`` says what is wrong): what the Select step runs on,
    and what ``imgflow reprocess`` checks before it starts a run."""
    return Request.parse(raw, default_run_id)


def _timestamp(value: Any, name: str) -> str | None:
    """An ISO date or date-time, in the table's format (UTC, ms, Z)."""
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidReprocessRequest(f"{name} is not an ISO date: {value!r}") from exc
    return iso(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


def run_id(raw: str) -> str:
    """A run id fit for an execution name: [A-Za-z0-9_-], at most 40 characters (else hashed)."""
    clean = _NAME_CHARS.sub("-", raw).strip("-") or "run"
    if len(clean) > MAX_RUN_ID:
        clean = clean[: MAX_RUN_ID - 9] + "-" + hashlib.sha256(raw.encode()).hexdigest()[:8]
    return clean


def next_part(run: str) -> str:
    """The run id of the next part of a run too large for one manifest: ``<id>-p2``, ``-p3``, ..."""
    match = re.search(r"-p(\d+)$", run)
    base, part = (run[: match.start()], int(match.group(1)) + 1) if match else (run, 2)
    return run_id(f"{base[: MAX_RUN_ID - 8]}-p{part}")


def child_name(image_id: str, pipeline_version: str, run: str) -> str:
    """The ingest execution's name for one image of one run: deterministic, so a restarted run gets
    ExecutionAlreadyExists instead of starting the same work twice. At most 80 characters."""
    name = f"{image_id}-{pipeline_version}-{run}"
    if len(name) > 80:  # image ids are 26 characters; only a foreign id could get here
        name = f"{hashlib.sha256(image_id.encode()).hexdigest()[:26]}-{pipeline_version}-{run}"
    return name[:80]


def manifest_key(run: str) -> str:
    return f"{RUNS_PREFIX}{run}/manifest.json"


def summary_key(run: str, execution_name: str) -> str:
    return f"{RUNS_PREFIX}{run}/summary-{execution_name}.json"


@dataclass
class Candidate:
    """One image to run again: where its original is and, for a dead run, which run it replaces."""

    image_id: str
    owner: str
    bucket: str
    key: str
    sequencer: str
    reason: str
    replaces: str | None = None


@dataclass
class Selection:
    candidates: list[Candidate] = field(default_factory=list)
    expired: int = 0
    #: Seen but not taken: nothing uploaded to run on, or a run still alive.
    skipped: int = 0
    truncated: bool = False


def _records(
    repo: ImageRepository,
    request: Request,
    statuses: tuple[Status, ...],
    below: str | None = None,
    at_or_above: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Records in ``statuses`` (by_status), or the owner's records in them (by_owner)."""
    if request.owner:
        wanted = {s.value for s in statuses}
        for item in repo.iter_by_owner(request.owner, since=request.since, until=request.until):
            if item.get("status") in wanted and _in_bounds(item, below, at_or_above):
                yield item
        return
    for status in statuses:
        for item in repo.iter_by_status(status, below=below, at_or_above=at_or_above):
            created = item.get("created_at", "")
            if (request.since and created < request.since) or (request.until and created > request.until):
                continue
            yield item


def _in_bounds(item: dict[str, Any], below: str | None = None, at_or_above: str | None = None) -> bool:
    sk = item.get("gsi2sk", "")
    return (below is None or sk < below) and (at_or_above is None or sk >= at_or_above)


def _stale_ranges(version: str) -> list[dict[str, str | None]]:
    return [{"below": t.version_prefix(version)}, {"at_or_above": t.version_end(version)}]


def _candidate(item: dict[str, Any], reason: str, replaces: str | None = None) -> Candidate | None:
    if not (item.get("source_key") and item.get("seq") and item.get("source_bucket")):
        return None
    return Candidate(
        image_id=item["image_id"],
        owner=item["owner"],
        bucket=item["source_bucket"],
        key=item["source_key"],
        sequencer=item["seq"],
        reason=reason,
        replaces=replaces,
    )


def select(
    request: Request,
    settings: Settings,
    *,
    now: datetime | None = None,
    execution_status: Callable[[str], str | None] | None = None,
) -> Selection:
    """The images ``request`` asks for, at most ``max_images`` (stuck: PENDING without upload expired)."""
    repo = ImageRepository(settings.table_name)
    limit = min(request.max_images or settings.reprocess.max_images, settings.reprocess.max_images)
    result = Selection()
    seen: set[str] = set()

    def take(candidate: Candidate | None) -> bool:
        """Add a candidate; False once the run is full."""
        if candidate is None:
            result.skipped += 1
            return True
        if candidate.image_id in seen:
            return True
        if len(result.candidates) >= limit:
            result.truncated = True
            return False
        seen.add(candidate.image_id)
        result.candidates.append(candidate)
        return True

    if request.mode == "failed":
        for item in _records(repo, request, (Status.FAILED,)):
            if not take(_candidate(item, "failed")):
                break
    elif request.mode in ("stale", "all"):
        everything: list[dict[str, str | None]] = [{}]
        ranges = _stale_ranges(settings.pipeline_version) if request.mode == "stale" else everything
        for bounds in ranges:
            for item in _records(
                repo, request, STORED_STATUSES, bounds.get("below"), bounds.get("at_or_above")
            ):
                if not take(_candidate(item, request.mode)):
                    return result
    else:
        _select_stuck(request, settings, repo, result, take, now or datetime.now(UTC), execution_status)
    return result


def _select_stuck(
    request: Request,
    settings: Settings,
    repo: ImageRepository,
    result: Selection,
    take: Callable[[Candidate | None], bool],
    now: datetime,
    execution_status: Callable[[str], str | None] | None,
) -> None:
    older = request.older_than_s if request.older_than_s is not None else settings.reprocess.stuck_after_s
    cutoff = iso(now - timedelta(seconds=older))
    for candidate in drain_dead_letters(settings):
        if not take(candidate):
            return
    # PENDING records have no pipeline version: their sort key is "V#<updated_at>#<id>".
    for item in _records(repo, request, (Status.PENDING,), below=t.status_sk("", cutoff, "")):
        owner, image_id = item["owner"], item["image_id"]
        bucket, key = settings.uploads_bucket, keys.upload_key(owner, image_id, settings.uploads_prefix)
        if _exists(bucket, key):
            lost = Candidate(image_id, owner, bucket, key, LOST_EVENT_SEQUENCER, "lost-event")
            if not take(lost):
                return
        elif repo.expire_pending(image_id, updated_before=cutoff):
            result.expired += 1
        else:
            result.skipped += 1  # an upload or a run got to it meanwhile
    status_of = execution_status or _execution_status
    for item in _records(repo, request, (Status.PROCESSING,)):
        _, updated_at = t.parse_status_sk(item.get("gsi2sk", "V##"))
        arn = item.get("execution_arn") or ""
        if updated_at >= cutoff or (arn and status_of(arn) == "RUNNING"):
            result.skipped += 1
            continue
        if not take(_candidate(item, "dead-run", replaces=arn or None)):
            return


def _exists(bucket: str, key: str) -> bool:
    try:
        objects.head(bucket, key)
    except SourceMissing:
        return False
    return True


def _execution_status(arn: str) -> str | None:
    """RUNNING, SUCCEEDED, ...; None when the execution is unknown (expired from history, or never was)."""
    return executions.status(arn)


def drain_dead_letters(settings: Settings, *, max_messages: int = 1000) -> Iterator[Candidate]:
    """Upload events the rule dead-lettered (AWS): each becomes a run of its upload, then leaves the
    queue. A message is deleted only after its candidate was taken (the manifest is written right after;
    a crash in between re-selects the image from its PENDING record)."""
    if not settings.upload_dlq_url:
        return
    taken = 0
    while taken < max_messages:
        messages = queues.receive(settings.upload_dlq_url)
        if not messages:
            return
        for message in messages:
            candidate = _dead_letter_candidate(message.get("Body", ""), settings)
            if candidate:
                yield candidate
                taken += 1
            queues.delete(settings.upload_dlq_url, message["ReceiptHandle"])


def _dead_letter_candidate(body: str, settings: Settings) -> Candidate | None:
    try:
        event = json.loads(body)
        bucket = event["detail"]["bucket"]["name"]
        key = event["detail"]["object"]["key"]
        sequencer = event["detail"]["object"].get("sequencer") or LOST_EVENT_SEQUENCER
    except (ValueError, KeyError, TypeError):
        return None
    parsed = keys.parse_upload_key(key, settings.uploads_prefix)
    if parsed is None or bucket != settings.uploads_bucket:
        return None
    return Candidate(parsed.image_id, parsed.owner, bucket, key, sequencer, "dead-letter")


def reprocess_event(
    candidate: Candidate, *, name: str, account: str, region: str, now: str
) -> dict[str, Any]:
    """The ingest workflow's input for one image: a "Reprocess Requested" event (the Claim reads it)."""
    detail: dict[str, Any] = {
        "bucket": {"name": candidate.bucket},
        "object": {"key": candidate.key, "sequencer": candidate.sequencer},
        "reason": candidate.reason,
    }
    if candidate.replaces:
        detail["replaces"] = candidate.replaces
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
        "detail-type": REPROCESS_DETAIL_TYPE,
        "source": REPROCESS_SOURCE,
        "account": account,
        "time": now,
        "region": region,
        "resources": [f"arn:aws:s3:::{candidate.bucket}"],
        "detail": detail,
    }


def manifest(selection: Selection, settings: Settings, run: str, *, ingest_arn: str) -> list[dict[str, Any]]:
    """The Distributed Map's items: the execution name and input of each image's ingest run."""
    _, _, _, region, account, *_ = ingest_arn.split(":")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    items = []
    for candidate in selection.candidates:
        name = child_name(candidate.image_id, settings.pipeline_version, run)
        items.append(
            {
                "image_id": candidate.image_id,
                "name": name,
                "input": reprocess_event(candidate, name=name, account=account, region=region, now=now),
            }
        )
    return items
