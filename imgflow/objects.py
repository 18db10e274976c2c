"""Reading originals and writing renditions in S3 (with errors translated for the workflow)."""

from __future__ import annotations

from typing import Any

from imgflow import aws
from imgflow.errors import SourceMissing

#: Tag on a rejected original; the uploads bucket's lifecycle rule expires what carries it.
REJECTED_TAG = {"Key": "imgflow-verdict", "Value": "rejected"}


def head(bucket: str, key: str) -> dict[str, Any]:
    with aws.translated_errors():
        return aws.client("s3").head_object(Bucket=bucket, Key=key)


def read(bucket: str, key: str, *, max_bytes: int) -> bytes:
    """The object's bytes; never more than ``max_bytes`` (the object may have grown since the HEAD)."""
    with aws.translated_errors():
        body = aws.client("s3").get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{max_bytes}")["Body"]
        return body.read()


def write(bucket: str, key: str, data: bytes, *, content_type: str) -> None:
    with aws.translated_errors():
        aws.client("s3").put_object(
            Bucket=bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            CacheControl="public, max-age=31536000, immutable",
        )


def mark_rejected(bucket: str, key: str) -> None:
    """Tag a rejected original so that the bucket's lifecycle removes it (already gone: nothing to do)."""
    try:
        with aws.translated_errors():
            aws.client("s3").put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": [REJECTED_TAG]})
    except SourceMissing:
        pass
