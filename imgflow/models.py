"""The data contract between the states of the ingest workflow (what the ASL passes to each task).

Only references and small results travel between states, never image bytes (256 KiB payload limit).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.utilities.parser.models import (
    EventBridgeModel,
    S3EventNotificationEventBridgeModel,
)
from pydantic import BaseModel, ConfigDict, Field, model_validator

from imgflow.records.table import Status

REPROCESS_SOURCE = "imgflow.reprocess"
REPROCESS_DETAIL_TYPE = "Reprocess Requested"


class ImageRef(BaseModel):
    """Which upload a run works on (the Claim state's result, ``$.image``)."""

    id: str
    owner: str
    bucket: str
    key: str
    sequencer: str


class Validated(BaseModel):
    """What ``validate`` learned from the content (``$.validated``)."""

    format: str
    width: int
    height: int
    frames: int
    mode: str
    bytes: int
    content_type: str
    #: SHA-256 of the original's bytes (hex): exact duplicates, per owner.
    sha256: str = ""
    #: The owner's PROCESSED image with the same bytes and pipeline version, if any (the workflow reuses it).
    duplicate_of: str | None = None


class TaskInput(BaseModel):
    image: ImageRef


class ProcessInput(TaskInput):
    validated: Validated
    #: The run (``$$.Execution.Id``): its renditions go under a key of their own (``keys.run_tag``).
    execution_arn: str | None = None


class RenditionOut(BaseModel):
    name: str
    width: int
    height: int
    format: str
    bytes: int
    key: str


class ReprocessObject(BaseModel):
    key: str
    sequencer: str


class ReprocessBucket(BaseModel):
    name: str


class ReprocessDetail(BaseModel):
    bucket: ReprocessBucket
    object: ReprocessObject
    reason: str = "requested"
    #: A run the repair found dead: the new run may take the record over from it.
    replaces: str | None = None


class ReprocessEvent(EventBridgeModel):
    """The event that asks the ingest workflow to run again over a stored original."""

    detail: ReprocessDetail


class ClaimInput(BaseModel):
    action: Literal["claim"]
    event: dict[str, Any]
    execution_arn: str


class ErrorInfo(BaseModel):
    """What a Catch put at ``$.error``: Step Functions' Error name and Cause string."""

    Error: str
    Cause: str | None = None


class Processed(BaseModel):
    """``$.processed``: the Parallel's ``{resize: {renditions, placeholder, phash}, meta}`` (flattened here),
    or what Reuse copied."""

    renditions: list[RenditionOut]
    meta: dict[str, Any]
    #: ``{"kind", "hash", "color"}`` (``imgflow.image.placeholder``).
    placeholder: dict[str, str] | None = None
    #: 64-bit perceptual hash, hex (``imgflow.image.phash``).
    phash: str | None = None
    #: Set when the renditions and metadata were copied from this image (the same bytes), not computed.
    duplicate_of: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _flatten_resize(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("resize"), dict):
            data = {**data["resize"], **{k: v for k, v in data.items() if k != "resize"}}
        return data


class ReuseInput(BaseModel):
    """The Reuse state: copy a duplicate's renditions and metadata from the image with the same bytes."""

    action: Literal["reuse"]
    image: ImageRef
    validated: Validated
    execution_arn: str


class RunState(BaseModel):
    """The workflow state handed to ``record`` at the end: the original event plus what the states added."""

    model_config = ConfigDict(extra="allow")

    image: ImageRef | None = None
    validated: Validated | None = None
    processed: Processed | None = None
    error: ErrorInfo | None = None


class FinishInput(BaseModel):
    action: Literal["finish"]
    status: Literal[Status.PROCESSED, Status.REJECTED, Status.FAILED]
    state: RunState
    execution_arn: str


RecordInput = Annotated[ClaimInput | FinishInput | ReuseInput, Field(discriminator="action")]


def parse_source_event(event: dict[str, Any]) -> tuple[str, str, str, bool]:
    """(bucket, key, sequencer, is_reprocess) of the event that started a run."""
    if event.get("source") == REPROCESS_SOURCE:
        reprocess = ReprocessEvent.model_validate(event)
        return (
            reprocess.detail.bucket.name,
            reprocess.detail.object.key,
            reprocess.detail.object.sequencer,
            True,
        )
    upload = S3EventNotificationEventBridgeModel.model_validate(event)
    obj = upload.detail.object
    return upload.detail.bucket.name, obj.key, obj.sequencer or "", False
