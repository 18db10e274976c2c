"""Request and response bodies of the API (Pydantic; the OpenAPI spec is generated from them)."""

from __future__ import annotations

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
]
Tag = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_ .:-]{0,63}$", examples=["holiday"])]
Description = Annotated[str, Field(max_length=1000, pattern=MULTI_LINE), AfterValidator(_encodable)]


class Strict(BaseModel):
    """Request bodies: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class UploadSpec(Strict):
    filename: Filename
    content_type: ContentType = Field(description="Declared type (the content decides in the end)")
    size: int = Field(ge=1, le=2**53, description="Size in bytes (at most the configured maximum)")


class UploadBatch(Strict):
    files: list[UploadSpec] = Field(min_length=1, max_length=MAX_BATCH)


class PresignedPost(BaseModel):
    url: str = Field(description="POST a multipart/form-data form here")
    fields: dict[str, str] = Field(description="Form fields to send, in any order, before the file field")


class UploadTicket(BaseModel):
    id: str
    status: Status
    upload: PresignedPost
    expires_in: int = Field(description="Seconds the presigned POST stays valid")
    max_bytes: int = Field(description="Largest file the presigned POST accepts")


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
