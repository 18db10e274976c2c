"""record: claim an upload for a run, and write the run's final result (plain functions)."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from imgflow import keys, objects, similarity
from imgflow.config import Settings
from imgflow.errors import (
    REJECTIONS,
    DuplicateRun,
    OriginalGone,
    SourceMissing,
    SupersededResult,
    lambda_error_message,
)
from imgflow.models import (
    REPROCESS_SOURCE,
    ClaimInput,
    FinishInput,
    ImageRef,
    Processed,
    RenditionOut,
    ReprocessEvent,
    ReuseInput,
    parse_source_event,
)
from imgflow.records import ImageRepository, Status
from imgflow.records import table as t
from imgflow.records.repository import ContentIndex

MAX_MESSAGE = 1000


def _repository(settings: Settings) -> ImageRepository:
    return ImageRepository(settings.table_name)


def image_from_event(event: dict[str, Any], settings: Settings) -> tuple[ImageRef, bool]:
    bucket, key, sequencer, reprocess = parse_source_event(event)
    owner, image_id = keys.identity_for_key(key, settings.uploads_prefix)
    return ImageRef(id=image_id, owner=owner, bucket=bucket, key=key, sequencer=sequencer), reprocess


def claim(task: ClaimInput, settings: Settings) -> ImageRef:
    """Make this execution the owner of the upload's record (``DuplicateRun`` if another run is)."""
    image, reprocess = image_from_event(task.event, settings)
    replaces = (
        ReprocessEvent.model_validate(task.event).detail.replaces
        if task.event.get("source") == REPROCESS_SOURCE
        else None
    )
    repository = _repository(settings)
    try:
        repository.claim(
            image_id=image.id,
            owner=image.owner,
            bucket=image.bucket,
            key=image.key,
            sequencer=image.sequencer,
            execution_arn=task.execution_arn,
            pipeline_version=settings.pipeline_version,
            reprocess=reprocess,
            replaces=replaces,
        )
    except DuplicateRun:
        existing = repository.get(image.id)
        if existing and existing.get("status") == Status.DELETED and image.bucket == settings.uploads_bucket:
            objects.mark_rejected(image.bucket, image.key)  # uploaded after its image was deleted: expire it
        raise
    return image


def error_message(cause: str | None) -> str:
    """The human part of a Catch's Cause, as the record keeps it."""
    return lambda_error_message(cause)[:MAX_MESSAGE]


def result_fields(task: FinishInput, pipeline_version: str) -> dict[str, Any]:
    """The record's fields for this outcome (besides status and ownership)."""
    state = task.state
    fields: dict[str, Any] = {"reason": None, "error": None}
    if state.validated:
        fields.update(
            format=state.validated.format,
            bytes=state.validated.bytes,
            frames=state.validated.frames,
            mode=state.validated.mode,
            content_type=state.validated.content_type,
            width=state.validated.width,
            height=state.validated.height,
        )
    if task.status is Status.PROCESSED and state.processed:
        meta = state.processed.meta
        fields.update(
            renditions=[r.model_dump() for r in state.processed.renditions],
            exif=meta.get("exif"),
            # Display dimensions (after orientation) win over the stored ones.
            width=meta.get("width", fields.get("width")),
            height=meta.get("height", fields.get("height")),
            stored_width=meta.get("stored_width"),
            stored_height=meta.get("stored_height"),
            has_icc=meta.get("has_icc"),
            placeholder=state.processed.placeholder,
            phash=state.processed.phash,
            duplicate_of=state.processed.duplicate_of,
        )
        if state.validated and state.validated.sha256 and state.image:
            # by_content: later uploads of the same bytes by this owner find this image.
            sha = state.validated.sha256
            fields.update(
                sha256=sha,
                gsi3pk=t.content_pk(state.image.owner, sha),
                gsi3sk=t.content_sk(pipeline_version, state.image.id),
            )
    if state.error:
        name = state.error.Error
        message = error_message(state.error.Cause)
        if task.status is Status.REJECTED:
            rejection = REJECTIONS.get(name)
            fields["reason"] = rejection.reason if rejection else "invalid_image"
            fields["error"] = {"type": name, "message": message}
        else:
            fields["error"] = {"type": name, "message": message}
    return fields


def finish(task: FinishInput, settings: Settings) -> dict[str, Any]:
    """Write the final record (``SupersededResult`` if a newer run owns it)."""
    state = task.state
    image = state.image
    if image is None:  # the Claim itself failed: identify the upload from the event
        image, _ = image_from_event(
            state.model_dump(exclude={"image", "validated", "processed", "error"}), settings
        )
    own = keys.run_prefix(image.owner, image.id, keys.run_tag(task.execution_arn))
    try:
        record, previous = _repository(settings).finish(
            image_id=image.id,
            owner=image.owner,
            sequencer=image.sequencer,
            execution_arn=task.execution_arn,
            status=Status(task.status),
            pipeline_version=settings.pipeline_version,
            fields=result_fields(task, settings.pipeline_version),
            bucket=image.bucket,
            key=image.key,
        )
    except SupersededResult:
        # Lost to a newer run or a delete: what this run wrote must not stay behind.
        objects.delete(settings.renditions_bucket, objects.keys_under(settings.renditions_bucket, own))
        raise
    _remove_unlisted_renditions(record, previous, own, settings)
    if record.get("status") == Status.PROCESSED and record.get("phash"):
        _index_phash(image.owner, image.id, record["phash"], previous.get("phash"), settings)
    if task.status is Status.REJECTED and image.bucket == settings.uploads_bucket:
        objects.mark_rejected(image.bucket, image.key)
    return record


def _index_phash(owner: str, image_id: str, value: str, previous: str | None, settings: Settings) -> None:
    """The band items of the record's perceptual hash (a previous hash's bands go)."""
    stale = similarity.bands(previous) if previous and previous != value else []
    ContentIndex(settings.table_name).put_bands(owner, image_id, similarity.bands(value), stale)


def _remove_unlisted_renditions(
    record: dict[str, Any], previous: dict[str, Any], own: str, settings: Settings
) -> None:
    """After the record switched: the renditions the previous record listed and this one does not go;
    so does whatever this run wrote that the record does not list (a failed or rejected run's partial
    output). The record's own renditions are never touched."""
    listed = {r["key"] for r in record.get("renditions") or []}
    stale = {r["key"] for r in previous.get("renditions") or []} - listed
    if record.get("status") != Status.PROCESSED:
        stale |= set(objects.keys_under(settings.renditions_bucket, own)) - listed
    if stale:
        objects.delete(settings.renditions_bucket, stale)


#: What a duplicate takes over from the image with the same bytes (besides the renditions).
REUSED_META = ("width", "height", "stored_width", "stored_height", "has_icc", "exif")


def reuse(task: ReuseInput, settings: Settings) -> Processed:
    """A duplicate's renditions and metadata from the owner's image with the same bytes (``duplicate_of``).

    The renditions are copied server-side into this run's own folder: each image owns its objects, so
    deleting or reprocessing either one never touches the other's (a copy costs a COPY request and the
    storage; no decode, no resize). ``OriginalGone`` when that image changed meanwhile: process anew.
    """
    image, first_id = task.image, task.validated.duplicate_of
    first = ImageRepository(settings.table_name).get(first_id) if first_id else None
    same = (
        first is not None
        and first.get("owner") == image.owner
        and first.get("status") == Status.PROCESSED
        and first.get("sha256") == task.validated.sha256
        and first.get("pipeline_version") == settings.pipeline_version
    )
    if not same or first is None:
        raise OriginalGone(f"image {first_id} is no longer a PROCESSED image with these bytes")
    run = keys.run_tag(task.execution_arn)
    copies: dict[str, str] = {}
    renditions = []
    for r in first.get("renditions") or []:
        if r["key"] not in copies:
            path = PurePosixPath(r["key"])
            copies[r["key"]] = keys.rendition_key(image.owner, image.id, path.stem, path.suffix[1:], run)
            try:
                objects.copy(settings.renditions_bucket, r["key"], copies[r["key"]])
            except SourceMissing as exc:  # deleted after the read above: its record is a tombstone now
                raise OriginalGone(f"image {first_id}'s rendition {r['key']} is gone") from exc
        renditions.append(RenditionOut.model_validate({**r, "key": copies[r["key"]]}))
    return Processed(
        renditions=renditions,
        meta={k: first.get(k) for k in REUSED_META},
        placeholder=first.get("placeholder"),
        phash=first.get("phash"),
        duplicate_of=first_id,
    )
