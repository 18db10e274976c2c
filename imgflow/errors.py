"""Named workflow errors.

Lambda reports a raised exception by its class name (``errorType``); the ASL in
``statemachine/ingest.asl.json`` matches these names in Retry and Catch, so the
class names here are part of the workflow's contract: renaming one is a breaking change.
"""

from __future__ import annotations

import json


def lambda_error_message(cause: str | None) -> str:
    """The human part of a task error's Cause: Lambda puts a JSON error object there (its ``errorMessage``;
    the stack trace stays out), other errors a plain string."""
    if not cause:
        return ""
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        return str(parsed["errorMessage"])
    return cause


class ImgflowError(Exception):
    """Base of every error imgflow raises on purpose."""


class ImageRejected(ImgflowError):
    """The upload is not an image imgflow accepts. Never retried; ends in a REJECTED record."""

    reason = "invalid_image"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.reason)


class InvalidImage(ImageRejected):
    """Content is not a decodable image at all."""

    reason = "invalid_image"


class EmptyFile(ImageRejected):
    reason = "empty"


class ImageTooLarge(ImageRejected):
    """More bytes than the configured maximum (checked from object metadata, before download)."""

    reason = "too_large"


class TooManyPixels(ImageRejected):
    """Header declares more pixels than the limit (decompression bomb guard)."""

    reason = "too_many_pixels"


class UnsupportedFormat(ImageRejected):
    """A real file, but not of an allowed format (decided by content, never by name)."""

    reason = "unsupported_format"


class TruncatedImage(ImageRejected):
    reason = "truncated"


class CorruptImage(ImageRejected):
    reason = "corrupt"


class InvalidKey(ImageRejected):
    """The object key is not one the API hands out (``uploads/{owner}/{image_id}``)."""

    reason = "bad_key"


#: Every rejection class, by the name the ASL Catch matches.
REJECTIONS: dict[str, type[ImageRejected]] = {
    cls.__name__: cls
    for cls in (
        InvalidImage,
        EmptyFile,
        ImageTooLarge,
        TooManyPixels,
        UnsupportedFormat,
        TruncatedImage,
        CorruptImage,
        InvalidKey,
    )
}


class TransientError(ImgflowError):
    """A dependency failed in a way worth retrying (throttling, 5xx, connection reset)."""


class StorageThrottled(TransientError):
    """S3 or DynamoDB throttled the request (SlowDown, ThrottlingException, ...)."""


class SourceMissing(ImgflowError):
    """The uploaded object is gone (deleted before processing). Not retried; ends in FAILED."""


class DuplicateRun(ImgflowError):
    """Another run already owns (or finished) this upload: a duplicated or stale event."""


class ImageDeleted(ImgflowError):
    """The image was deleted while this run worked on it; what the run wrote has been removed."""


class SupersededResult(ImgflowError):
    """A newer run owns the image record; this run's result must not overwrite it."""


class OriginalGone(ImgflowError):
    """The image a duplicate was to reuse is no longer PROCESSED with the same bytes: process it anew."""
