"""Request and response bodies of the API (Pydantic; the OpenAPI spec is generated from them)."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from imgflow.records.table import Status
from imgflow.uploads import ALLOWED_CONTENT_TYPES

#: Bulk ``POST /uploads``: at most this many files per request.
MAX_BATCH = 25
MAX_TAGS = 20
#: No control characters (a description may have line breaks and tabs).
SINGLE_LINE = r"^[^\x00-\x1f\x7f]+$"
MULTI_LINE = r"^[^\x00-\x08\x0b-\x1f\x7f]*$"


#: Unicode categories a file name may not hold: controls, format characters (bidi overrides, zero-width
#: joiners, BOM), line/paragraph separators, surrogates, private use and unassigned code points.
_NAME_FORBIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def _plain_name(value: str) -> str:
    """A file name shows as what it is: no invisible or direction-changing characters, not only blanks."""
    bad = next((c for c in value if unicodedata.category(c) in _NAME_FORBIDDEN), None)
    if bad is not None:
        raise ValueError(f"the file name has an invisible or control character (U+{ord(bad):04X})")
    if not value.strip():
        raise ValueError("the file name is only white space")
    return value


def _encodable(value: str) -> str:
    """No lone surrogates (JSON can carry them; UTF-8 and DynamoDB cannot)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text must be valid Unicode") from exc
    return value


if TYPE_CHECKING:
    ContentType = str
else:  # the allow-list, as an enum in the OpenAPI spec
    ContentType = Literal[tuple(sorted(ALLOWED_CONTENT_TYPES))]
Filename = Annotated[
    str,
    Field(min_length=1, max_length=255, pattern=SINGLE_LINE, description="The file's name (for downloads)"),
    AfterValidator(_encodable),
    AfterValidator(_plain_name),
]
Tag = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_ .:-]{0,63}$", examples=["holiday"])]
Description = Annotated[str, Field(max_length=1000, pattern=MULTI_LINE), AfterValidator(_encodable)]


class Strict(BaseModel):
    """Request bodies: unknown fields are an error, and no value is coerced (``"10"``, ``true`` or ``10.0``
    is not an integer)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class UploadSpec(Strict):
    filename: Filename
    content_type: ContentType = Field(description="Declared type (the content decides in the end)")
    size: int = Field(ge=1, le=2**53, description="Size in bytes (at most the configured maximum)")
    sha256: str | None = Field(
        None,
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the file (hex): if you already have a PROCESSED image with these bytes, the "
        "ticket answers `duplicate_of` and no upload is needed",
    )


class UploadBatch(Strict):
    files: list[UploadSpec] = Field(min_length=1, max_length=MAX_BATCH)


class PresignedPost(BaseModel):
    url: str = Field(description="POST a multipart/form-data form here")
    fields: dict[str, str] = Field(description="Form fields to send, in any order, before the file field")


class UploadTicket(BaseModel):
    id: str = Field(description="The new image's id; with `duplicate_of`, the image you already have")
    status: Status
    upload: PresignedPost | None = Field(None, description="Absent when `duplicate_of` is set")
    expires_in: int = Field(description="Seconds the presigned POST stays valid")
    max_bytes: int = Field(description="Largest file the presigned POST accepts")
    duplicate_of: str | None = Field(
        None, description="Your PROCESSED image with the same bytes (`sha256`): nothing to upload"
    )


class UploadTickets(BaseModel):
    uploads: list[UploadTicket]


class InlineImage(Strict):
    filename: Filename
    content_type: ContentType
    data: str = Field(
        min_length=1,
        pattern=r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
        description="The file, base64; up to a few MB (else use POST /uploads)",
    )


class ImageAccepted(BaseModel):
    id: str
    status: Status


class ErrorInfo(BaseModel):
    type: str
    message: str


class Placeholder(BaseModel):
    kind: Literal["thumbhash", "blurhash"]
    hash: str = Field(description="The placeholder, base64 (ThumbHash): paint it until a rendition loads")
    color: str = Field(description="Dominant colour, #rrggbb")


class ImageSummary(BaseModel):
    id: str
    status: Status
    filename: str | None = None
    content_type: str | None = None
    created_at: str
    updated_at: str
    width: int | None = None
    height: int | None = None
    format: str | None = None
    bytes: int | None = None
    reason: str | None = Field(None, description="Why a REJECTED image was rejected (a code)")
    error: ErrorInfo | None = Field(None, description="REJECTED: the rejection in words; FAILED: the error")
    tags: list[str] = []
    description: str | None = None
    placeholder: Placeholder | None = Field(None, description="PROCESSED: what to paint before the pixels")
    duplicate_of: str | None = Field(None, description="The image with the same bytes this one reuses")


class ImageListItem(ImageSummary):
    thumbnail_url: str | None = Field(
        None, description="Presigned GET of the smallest rendition (PROCESSED only; not counted as an access)"
    )


class ImageStatus(BaseModel):
    """What a client polls while an upload goes through the workflow (no URLs, not an access)."""

    id: str
    status: Status
    reason: str | None = Field(None, description="Why a REJECTED image was rejected (a code)")
    error: ErrorInfo | None = Field(None, description="REJECTED: the rejection in words; FAILED: the error")
    updated_at: str


class ImagePage(BaseModel):
    items: list[ImageListItem]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page")


class RenditionView(BaseModel):
    name: str
    width: int
    height: int
    format: str
    bytes: int
    url: str = Field(description="Presigned GET")


class ImageDetail(ImageSummary):
    exif: dict[str, Any] | None = None
    renditions: list[RenditionView] = []
    original_url: str | None = Field(None, description="Presigned GET of the original (PROCESSED only)")
    urls_expire_in: int = Field(description="Seconds the presigned URLs stay valid")
    access_count: int = 0
    last_accessed_at: str | None = None


class SimilarImage(ImageListItem):
    distance: int = Field(description="Bits the perceptual hashes differ by (0: alike)")


class SimilarImages(BaseModel):
    items: list[SimilarImage] = Field(description="The caller's near duplicates of the image, closest first")
    threshold: int = Field(description="The largest distance counted as a near duplicate")


class ImagePatch(Strict):
    tags: list[Tag] | None = Field(None, max_length=MAX_TAGS, description="Replaces the tags")
    description: Description | None = None


class ReprocessAccepted(BaseModel):
    id: str
    execution_arn: str


class ErrorBody(BaseModel):
    statusCode: int | None = Field(None, description="Absent when API Gateway itself answers (401, 413)")
    message: str
    detail: list[dict[str, Any]] | None = None


class RunError(BaseModel):
    error: str = Field(description="The error's name, as Retry and Catch match it")
    cause: str | None = Field(None, description="What went wrong, in words (trimmed)")


class RunRetry(RunError):
    at: str | None = Field(None, description="When the attempt failed")


class RunState(BaseModel):
    name: str
    type: str = Field(description="Task, Parallel, Map, Choice, Pass, Succeed, Fail, ...")
    status: Literal["SUCCEEDED", "CAUGHT", "FAILED", "RUNNING"] = Field(
        description="CAUGHT: it failed and a Catch moved the run on to `caught_by`"
    )
    started_at: str
    stopped_at: str | None = None
    duration_s: float | None = None
    attempts: int = Field(0, description="Task invocations (1 + retries)")
    retries: list[RunRetry] = Field(description="Failed attempts that were retried")
    error: RunError | None = None
    caught_by: str | None = Field(None, description="The state its Catch went to")
    parent: str | None = Field(None, description="The Parallel or Map state it ran in")
    iteration: int | None = Field(None, description="The Map iteration it ran in")
    input: str | None = Field(None, description="The state's input (JSON text, trimmed)")
    output: str | None = Field(None, description="The state's output (JSON text, trimmed)")
    iterations: int | None = Field(None, description="Items of an inline Map")
    map_run: dict[str, Any] | None = Field(None, description="A Distributed Map's run: arn, status, items")


class RunTimeline(BaseModel):
    execution_arn: str
    name: str
    state_machine: str | None = None
    status: str = Field(description="RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED")
    image_id: str | None = None
    started_at: str | None = None
    stopped_at: str | None = None
    duration_s: float | None = None
    final_state: str | None = Field(None, description="The last top-level state it entered")
    error: RunError | None = None
    retries: int = Field(0, description="Retried attempts over every state")
    states: list[RunState] = Field(description="In the order they were entered")


class ImageRuns(BaseModel):
    runs: list[RunTimeline] = Field(description="Newest first")


class GraphState(BaseModel):
    name: str
    type: str
    comment: str = ""
    parent: str | None = Field(None, description="The Parallel or Map state it is nested in")
    branch: int | None = Field(None, description="Which branch of its Parallel")
    start: bool = Field(False, description="First state of the machine or of its branch")
    end: bool = Field(False, description="Ends the machine or its branch")
    retry: list[dict[str, Any]] = Field([], description="Retry rules: errors, max_attempts, interval_s, ...")


class GraphEdge(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    source: str = Field(alias="from", serialization_alias="from")
    to: str
    kind: Literal["next", "catch", "default", "choice", "branch"]
    label: str | None = Field(None, description="A Catch's errors, a Choice rule, a branch")


class WorkflowGraph(BaseModel):
    name: str
    start_at: str
    comment: str = ""
    states: list[GraphState]
    edges: list[GraphEdge]
