"""What the API does, as plain functions of (owner, input, settings): no HTTP, no Powertools.

Every function is owner-scoped: another owner's image is ``NotFound``, exactly like a missing one.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from api import cursor as cursors
from api.models import (
    ImageAccepted,
    ImageDetail,
    ImageListItem,
    ImagePage,
    ImagePatch,
    ImageRuns,
    ImageStatus,
    ImageSummary,
    InlineImage,
    PresignedPost,
    RenditionView,
    ReprocessAccepted,
    SimilarImage,
    SimilarImages,
    UploadSpec,
    UploadTicket,
    WorkflowGraph,
)
from imgflow import keys, objects, similarity
from imgflow.config import Settings
from imgflow.models import REPROCESS_DETAIL_TYPE, REPROCESS_SOURCE, ReprocessEvent
from imgflow.records import ImageRepository, Status
from imgflow.records import table as t
from imgflow.records.repository import STALE_CLAIM, ContentIndex, recent_runs
from imgflow.uploads import presign_upload
from imgflow.workflow import asl_graph, executions

#: ``POST /images`` takes files up to this size inline (base64 in JSON stays under Lambda's 6 MB payload).
INLINE_MAX_BYTES = 4 * 1024 * 1024
#: Presigned GETs: default and cap of ``expires``.
DEFAULT_GET_EXPIRES_S = 300
MAX_GET_EXPIRES_S = 3600
#: Queries one list request may make to fill a filtered page (the rest comes with the next cursor).
MAX_QUERIES_PER_PAGE = 10
FILTERED_QUERY_LIMIT = 200


class ApiError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ApiError):
    status = 400


class NotFound(ApiError):
    status = 404

    def __init__(self, message: str = "image not found") -> None:
        super().__init__(message)


class Conflict(ApiError):
    status = 409


class TooLarge(ApiError):
    status = 413


class Unavailable(ApiError):
    status = 503


def _repo(settings: Settings) -> ImageRepository:
    return ImageRepository(settings.table_name)


def _iso(value: datetime) -> str:
    """The table's timestamp format (UTC, milliseconds, Z); naive datetimes are taken as UTC."""
    try:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as exc:  # 9999-12-31T23:00-14:00 is in year 10000 in UTC
        raise BadRequest("date-time out of range (years 1 to 9999 in UTC)") from exc
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- uploads -------------------------------------------------------------------------------------------
def create_uploads(owner: str, specs: Iterable[UploadSpec], settings: Settings) -> list[UploadTicket]:
    """A PENDING record and a presigned POST per file (the client uploads straight to S3)."""
    specs = list(specs)
    max_bytes = settings.limits.max_bytes
    for spec in specs:
        if spec.size > max_bytes:
            raise TooLarge(f"{spec.filename!r}: {spec.size} bytes, more than the maximum of {max_bytes}")
    tickets = []
    for spec in specs:
        known = _known_upload(owner, spec, settings)
        if known:
            tickets.append(known)
            continue
        presigned = presign_upload(
            owner=owner,
            filename=spec.filename,
            content_type=spec.content_type,
            size=spec.size,
            settings=settings,
        )
        tickets.append(
            UploadTicket(
                id=presigned.image_id,
                status=Status.PENDING,
                upload=PresignedPost(url=presigned.url, fields=presigned.fields),
                expires_in=presigned.expires_in,
                max_bytes=max_bytes,
                duplicate_of=None,
            )
        )
    return tickets


def _known_upload(owner: str, spec: UploadSpec, settings: Settings) -> UploadTicket | None:
    """A ticket that needs no upload: the owner's PROCESSED image with the bytes ``spec.sha256`` names
    (any pipeline version; never another owner's). No record is created."""
    if not spec.sha256:
        return None
    found = ContentIndex(settings.table_name).same_bytes(owner, spec.sha256, pipeline_version=None)
    if not found:
        return None
    return UploadTicket(
        id=found,
        status=Status.PROCESSED,
        upload=None,
        expires_in=0,
        max_bytes=settings.limits.max_bytes,
        duplicate_of=found,
    )


def put_inline(owner: str, body: InlineImage, settings: Settings) -> ImageAccepted:
    """A small file sent in the request: written to its upload key; S3's event starts the workflow."""
    limit = min(INLINE_MAX_BYTES, settings.limits.max_bytes)
    too_large = f"more than {limit} bytes: use POST /uploads (presigned POST) for large files"
    if len(body.data) > (limit + 2) // 3 * 4 + 4:
        raise TooLarge(too_large)
    try:
        data = base64.b64decode(body.data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("data is not valid base64") from exc
    if len(data) > limit:
        raise TooLarge(too_large)
    if not data:
        raise BadRequest("data is empty")
    image_id = keys.new_image_id()
    _repo(settings).create_pending(
        image_id=image_id,
        owner=owner,
        filename=body.filename,
        content_type=body.content_type,
        size=len(data),
    )
    objects.write(
        settings.uploads_bucket,
        keys.upload_key(owner, image_id, settings.uploads_prefix),
        data,
        content_type=body.content_type,
        cache_control=None,
    )
    return ImageAccepted(id=image_id, status=Status.PENDING)


# -- reads ---------------------------------------------------------------------------------------------
def _summary_fields(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record["image_id"],
        "status": record["status"],
        "filename": record.get("filename"),
        "content_type": record.get("content_type"),
        "created_at": record["created_at"],
        "updated_at": record.get("updated_at", record["created_at"]),
        "width": record.get("width"),
        "height": record.get("height"),
        "format": record.get("format"),
        "bytes": record.get("bytes"),
        "reason": record.get("reason"),
        "error": record.get("error"),
        "tags": record.get("tags") or [],
        "description": record.get("description"),
        "placeholder": record.get("placeholder"),
        "duplicate_of": record.get("duplicate_of"),
    }


def summary(record: dict[str, Any]) -> ImageSummary:
    return ImageSummary(**_summary_fields(record))


def _owner_index_key(record: dict[str, Any]) -> dict[str, Any]:
    """The by_owner LastEvaluatedKey that resumes a query right after ``record``."""
    return {name: {"S": record[name]} for name in (t.PK, t.SK, "gsi1pk", "gsi1sk")}


def list_images(
    owner: str,
    settings: Settings,
    *,
    limit: int,
    cursor: str | None = None,
    status: Status | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    tag: str | None = None,
    accept: str | None = None,
) -> ImagePage:
    """The owner's images, newest first: a Query on the by_owner index, resumable with a signed cursor."""
    filters = {
        "status": status.value if status else None,
        # The repository's range query needs a non-empty lower bound: "0" sorts before every timestamp.
        "since": _iso(since) if since else ("0" if until else None),
        "until": _iso(until) if until else None,
        "tag": tag,
    }
    if filters["since"] and filters["until"] and filters["since"] > filters["until"]:
        raise BadRequest("since is after until")
    query = json.dumps(filters, sort_keys=True)
    start = None
    if cursor:
        try:
            start = cursors.decode(cursor, owner=owner, query=query, secret=settings.cursor_key)
        except cursors.InvalidCursor as exc:
            raise BadRequest(f"invalid cursor: {exc}") from exc
    filtered = bool(status or tag)
    items: list[dict[str, Any]] = []
    next_key = None
    for _ in range(MAX_QUERIES_PER_PAGE):
        wanted = limit - len(items)
        page = _repo(settings).list_by_owner(
            owner,
            limit=FILTERED_QUERY_LIMIT if filtered else wanted,
            start_key=start,
            **filters,
        )
        taken = page.items[:wanted]
        items.extend(taken)
        if len(taken) < len(page.items):  # cut inside the page: resume after the last item returned
            next_key = _owner_index_key(taken[-1])
            break
        next_key = start = page.next_key
        if not next_key or len(items) >= limit:
            break
    next_cursor = (
        cursors.encode(next_key, owner=owner, query=query, secret=settings.cursor_key) if next_key else None
    )
    return ImagePage(items=[_list_item(i, settings, accept) for i in items], next_cursor=next_cursor)


#: Rendition formats, best first: a client gets the best one it accepts of each rendition (JPEG/PNG always).
_PREFERENCE = ("AVIF", "WEBP", "JPEG", "PNG")
_ACCEPT_TYPES = {"image/avif": "AVIF", "image/webp": "WEBP"}


def accepted_formats(accept: str | None) -> set[str]:
    """Rendition formats a client can show, from its Accept header: WebP/AVIF only when named (q > 0)."""
    formats = {"JPEG", "PNG"}
    for part in (accept or "").split(","):
        media, *params = (item.strip() for item in part.split(";"))
        quality = next((p.partition("=")[2] for p in params if p.replace(" ", "").startswith("q=")), "1")
        with contextlib.suppress(ValueError):
            if media.lower() in _ACCEPT_TYPES and float(quality) > 0:
                formats.add(_ACCEPT_TYPES[media.lower()])
    return formats


def best_renditions(renditions: list[dict[str, Any]], accept: str | None) -> list[dict[str, Any]]:
    """One entry per rendition name: the best format the client accepts among those encoded (a spec's
    ``alternates``); a rendition made in one format only is kept whatever the client says."""
    accepted = accepted_formats(accept)

    def rank(r: dict[str, Any]) -> tuple[bool, int]:
        fmt = r.get("format", "")
        return fmt not in accepted, _PREFERENCE.index(fmt) if fmt in _PREFERENCE else len(_PREFERENCE)

    chosen: dict[str, dict[str, Any]] = {}
    for r in renditions:
        if r["name"] not in chosen or rank(r) < rank(chosen[r["name"]]):
            chosen[r["name"]] = r
    return list(chosen.values())


def _list_item(record: dict[str, Any], settings: Settings, accept: str | None = None) -> ImageListItem:
    """A list entry, with a presigned GET of the smallest rendition for a gallery (not an access)."""
    thumbnail_url = None
    renditions = best_renditions(record.get("renditions") or [], accept)
    if record["status"] == Status.PROCESSED and renditions:
        smallest = min(renditions, key=lambda r: max(int(r["width"]), int(r["height"])))
        thumbnail_url = _presigned_get(
            settings.renditions_bucket,
            smallest["key"],
            DEFAULT_GET_EXPIRES_S,
            None,
            _RENDITION_TYPES.get(smallest["format"], "application/octet-stream"),
        )
    return ImageListItem(**_summary_fields(record), thumbnail_url=thumbnail_url)


def _disposition(filename: str) -> str:
    """``attachment`` with the file name, RFC 6266 (ASCII fallback plus UTF-8 ``filename*``)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _presigned_get(bucket: str, key: str, expires: int, download_as: str | None, content_type: str) -> str:
    response = {"ResponseContentType": content_type}
    if download_as:
        response["ResponseContentDisposition"] = _disposition(download_as)
    return objects.presigned_get(bucket, key, expires=expires, **response)


_RENDITION_TYPES = {
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "AVIF": "image/avif",
    "PNG": "image/png",
    "GIF": "image/gif",
}


def get_image(
    owner: str,
    image_id: str,
    settings: Settings,
    *,
    expires: int = DEFAULT_GET_EXPIRES_S,
    download: bool = False,
    accept: str | None = None,
) -> ImageDetail:
    """The record with presigned GETs (expiry capped).

    Only a response that hands out URLs (a PROCESSED image) counts as an access: a client polling an
    upload's progress reads nothing of the image (``image_status`` is the lighter way to poll).
    """
    repo = _repo(settings)
    record = repo.get_owned(image_id, owner) if keys.is_valid_segment(image_id) else None
    if record is not None and record["status"] == Status.PROCESSED:
        record = repo.record_access(image_id, owner)
    if record is None:
        raise NotFound()
    expires = max(1, min(expires, MAX_GET_EXPIRES_S))
    filename = record.get("filename") or image_id
    stem = PurePosixPath(filename).stem or image_id
    renditions: list[RenditionView] = []
    original_url = None
    if record["status"] == Status.PROCESSED:
        for r in best_renditions(record.get("renditions") or [], accept):
            ext = PurePosixPath(r["key"]).suffix
            renditions.append(
                RenditionView(
                    **{k: r[k] for k in ("name", "width", "height", "format", "bytes")},
                    url=_presigned_get(
                        settings.renditions_bucket,
                        r["key"],
                        expires,
                        f"{stem}-{r['name']}{ext}" if download else None,
                        _RENDITION_TYPES.get(r["format"], "application/octet-stream"),
                    ),
                )
            )
        if record.get("source_key"):
            original_url = _presigned_get(
                record.get("source_bucket") or settings.uploads_bucket,
                record["source_key"],
                expires,
                filename if download else None,
                record.get("content_type") or "application/octet-stream",
            )
    return ImageDetail(
        **_summary_fields(record),
        exif=record.get("exif"),
        renditions=renditions,
        original_url=original_url,
        urls_expire_in=expires,
        access_count=record.get("access_count", 0),
        last_accessed_at=record.get("last_accessed_at"),
    )


def image_status(owner: str, image_id: str, settings: Settings) -> ImageStatus:
    """Status, rejection reason or error: one GetItem, no URLs, not counted as an access."""
    record = _repo(settings).get_owned(image_id, owner) if keys.is_valid_segment(image_id) else None
    if record is None:
        raise NotFound()
    fields = _summary_fields(record)
    return ImageStatus(**{k: fields[k] for k in ("id", "status", "reason", "error", "updated_at")})


# -- edits ---------------------------------------------------------------------------------------------
def update_image(owner: str, image_id: str, patch: ImagePatch, settings: Settings) -> ImageSummary:
    tags = list(dict.fromkeys(patch.tags)) if patch.tags is not None else None
    record = (
        _repo(settings).update_details(image_id, owner, tags=tags, description=patch.description)
        if keys.is_valid_segment(image_id)
        else None
    )
    if record is None:
        raise NotFound()
    return summary(record)


def delete_image(owner: str, image_id: str, settings: Settings) -> None:
    """The record becomes a tombstone first, then the original and renditions go.

    Tombstone first: a run still working on the image checks for it after writing its renditions (resize)
    and when it finishes (record), and removes what it wrote; what it wrote before that check is in the
    listing below. Either way no rendition outlives the image.
    """
    repo = _repo(settings)
    record = repo.get_owned(image_id, owner) if keys.is_valid_segment(image_id) else None
    if record is None or not repo.delete(image_id, owner):
        raise NotFound()
    if record["status"] == Status.PROCESSING and record.get("execution_arn"):
        # No use finishing a deleted image (a task already running completes and cleans up after itself).
        executions.stop(record["execution_arn"], "image deleted")
    _forget_phash(owner, image_id, record, settings)
    originals = {keys.upload_key(owner, image_id, settings.uploads_prefix)}
    if record.get("source_key") and record.get("source_bucket", settings.uploads_bucket) == (
        settings.uploads_bucket
    ):
        originals.add(record["source_key"])
    objects.delete(settings.uploads_bucket, originals)
    renditions = {r["key"] for r in record.get("renditions") or []}
    renditions.update(objects.keys_under(settings.renditions_bucket, keys.rendition_prefix(owner, image_id)))
    if renditions:
        objects.delete(settings.renditions_bucket, renditions)


def _forget_phash(owner: str, image_id: str, record: dict[str, Any], settings: Settings) -> None:
    """The deleted image's perceptual-hash band items (its by_content entry went with the record)."""
    if record.get("phash"):
        ContentIndex(settings.table_name).remove_bands(owner, image_id, similarity.bands(record["phash"]))


# -- near duplicates -------------------------------------------------------------------------------------
#: Candidates read per request at most (band collisions of unrelated photos are rare: bench S).
MAX_SIMILAR_CANDIDATES = 200


def similar_images(
    owner: str, image_id: str, settings: Settings, *, accept: str | None = None
) -> SimilarImages:
    """The owner's images whose perceptual hash is within ``similarity.THRESHOLD`` bits of this one's.

    One Query per LSH band (``similarity.BANDS``) and one BatchGetItem of the candidates: the cost follows
    the number of near candidates, not the size of the library. Every candidate is checked on its record.
    """
    repo = _repo(settings)
    record = repo.get_owned(image_id, owner) if keys.is_valid_segment(image_id) else None
    if record is None:
        raise NotFound()
    mine = record.get("phash")
    if not mine:
        return SimilarImages(items=[], threshold=similarity.THRESHOLD)
    candidates = ContentIndex(settings.table_name).sharing_a_band(owner, similarity.bands(mine))
    candidates.discard(image_id)
    found = repo.get_many(sorted(candidates)[:MAX_SIMILAR_CANDIDATES])
    items = []
    for other in found.values():
        theirs = other.get("phash")
        if other.get("owner") != owner or other.get("status") != Status.PROCESSED or not theirs:
            continue
        distance = similarity.distance(mine, theirs)
        if distance <= similarity.THRESHOLD:
            items.append(SimilarImage(**_list_item(other, settings, accept).model_dump(), distance=distance))
    items.sort(key=lambda item: (item.distance, item.id))
    return SimilarImages(items=items, threshold=similarity.THRESHOLD)


def reprocess(owner: str, image_id: str, settings: Settings, *, reason: str = "api") -> ReprocessAccepted:
    """Start the ingest workflow again over the stored original (the Claim state checks ``seq``)."""
    record = _repo(settings).get_owned(image_id, owner) if keys.is_valid_segment(image_id) else None
    if record is None:
        raise NotFound()
    if not record.get("seq") or not record.get("source_key"):
        raise Conflict("nothing has been uploaded for this image yet")
    stale = _iso(datetime.now(UTC) - STALE_CLAIM)
    if record["status"] == Status.PROCESSING and record.get("updated_at", "") > stale:
        raise Conflict("the image is being processed")
    arn = settings.ingest_state_machine_arn
    if not arn:
        raise Unavailable("reprocessing is not configured (IMGFLOW_INGEST_STATE_MACHINE_ARN)")
    _, _, _, region, account, *_ = arn.split(":")
    bucket = record.get("source_bucket") or settings.uploads_bucket
    event = ReprocessEvent.model_validate(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "source": REPROCESS_SOURCE,
            "detail-type": REPROCESS_DETAIL_TYPE,
            "account": account,
            "time": datetime.now(UTC),
            "region": region,
            "resources": [f"arn:aws:s3:::{bucket}"],
            "detail": {
                "bucket": {"name": bucket},
                "object": {"key": record["source_key"], "sequencer": record["seq"]},
                "reason": reason,
            },
        }
    )
    started = executions.start(
        arn,
        f"reprocess-{image_id}-{uuid.uuid4().hex[:12]}",
        event.model_dump_json(by_alias=True, exclude_none=True),
    )
    return ReprocessAccepted(id=image_id, execution_arn=started)


# -- runs ----------------------------------------------------------------------------------------------
def image_runs(owner: str, image_id: str, settings: Settings) -> ImageRuns:
    """The timelines of the executions that worked on the image (newest first; not counted as an access)."""
    record = _repo(settings).get_owned(image_id, owner) if keys.is_valid_segment(image_id) else None
    if record is None:
        raise NotFound()
    # Step Functions keeps a history for 90 days: an older run is left out.
    runs = [run for arn in recent_runs(record) if (run := executions.timeline(arn)) is not None]
    return ImageRuns.model_validate({"runs": runs})


def workflow_graph() -> WorkflowGraph:
    """The ingest state machine's graph, read from the ASL file deployed with this code."""
    return WorkflowGraph.model_validate({"name": "ingest", **asl_graph.workflow_graph()})
