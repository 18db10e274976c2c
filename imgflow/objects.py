"""Reading originals and writing renditions in S3 (with errors translated for the workflow)."""

from __future__ import annotations

from collections.abc import Iterable
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


def copy(bucket: str, source_key: str, key: str) -> None:
    """A server-side copy within ``bucket`` (no bytes pass through the function)."""
    with aws.translated_errors():
        aws.client("s3").copy_object(
            Bucket=bucket,
            Key=key,
            CopySource={"Bucket": bucket, "Key": source_key},
            MetadataDirective="COPY",
        )


def mark_rejected(bucket: str, key: str) -> None:
    """Tag a rejected original so that the bucket's lifecycle removes it (already gone: nothing to do)."""
    try:
        with aws.translated_errors():
            aws.client("s3").put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": [REJECTED_TAG]})
    except SourceMissing:
        pass


def delete(bucket: str, keys: Iterable[str]) -> int:
    """Delete these objects (1000 per request; absent ones are no error). Returns how many were asked."""
    ordered = sorted(set(keys))
    s3 = aws.client("s3")
    for i in range(0, len(ordered), 1000):
        chunk = [{"Key": k} for k in ordered[i : i + 1000]]
        with aws.translated_errors():
            s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
    return len(ordered)


def keys_under(bucket: str, prefix: str) -> list[str]:
    """Every key under ``prefix`` (ListObjectsV2 pages)."""
    pages = aws.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    with aws.translated_errors():
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]
