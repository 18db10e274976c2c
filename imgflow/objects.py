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


#: Renditions are written once under a key of their own: caches may keep them for a year.
IMMUTABLE = "public, max-age=31536000, immutable"


def read(bucket: str, key: str, *, max_bytes: int | None = None) -> bytes:
    """The object's bytes; never more than ``max_bytes`` (the object may have grown since the HEAD)."""
    extra = {"Range": f"bytes=0-{max_bytes}"} if max_bytes is not None else {}
    with aws.translated_errors():
        return bytes(aws.client("s3").get_object(Bucket=bucket, Key=key, **extra)["Body"].read())


def write(
    bucket: str, key: str, data: bytes, *, content_type: str, cache_control: str | None = IMMUTABLE
) -> None:
    """Put ``data`` at ``key`` (``cache_control=None`` for objects that are not immutable renditions)."""
    extra = {"CacheControl": cache_control} if cache_control else {}
    with aws.translated_errors():
        aws.client("s3").put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type, **extra)


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


def presigned_get(bucket: str, key: str, *, expires: int, **response: str) -> str:
    """A presigned GET of ``key`` (``ResponseContentType=...``, ``ResponseContentDisposition=...``)."""
    params: dict[str, Any] = {"Bucket": bucket, "Key": key, **response}
    return str(aws.presign_client().generate_presigned_url("get_object", Params=params, ExpiresIn=expires))


def keys_under(bucket: str, prefix: str) -> list[str]:
    """Every key under ``prefix`` (ListObjectsV2 pages)."""
    pages = aws.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    with aws.translated_errors():
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]
