"""record: claim an upload for a run, and write the run's final result (plain functions)."""

from __future__ import annotations

from typing import Any

from imgflow import keys, objects
from imgflow.config import Settings
from imgflow.errors import REJECTIONS, DuplicateRun, SupersededResult, lambda_error_message
from imgflow.models import (
    REPROCESS_SOURCE,
    ClaimInput,
    FinishInput,
    ImageRef,
    ReprocessEvent,
    parse_source_event,
)
from imgflow.records import ImageRepository, Status

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


def result_fields(task: FinishInput) -> dict[str, Any]:
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
            fields=result_fields(task),
            bucket=image.bucket,
            key=image.key,
        )
    except SupersededResult:
        # Lost to a newer run or a delete: what this run wrote must not stay behind.
        objects.delete(settings.renditions_bucket, objects.keys_under(settings.renditions_bucket, own))
        raise
    _remove_unlisted_renditions(record, previous, own, settings)
    if task.status is Status.REJECTED and image.bucket == settings.uploads_bucket:
        objects.mark_rejected(image.bucket, image.key)
    return record


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
