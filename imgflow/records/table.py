"""Table layout: one item per image, two GSIs, every access pattern a Query.

| access pattern                                   | how                                                     |
|--------------------------------------------------|---------------------------------------------------------|
| get an image by id                               | GetItem pk=IMG#<id>, sk=IMAGE                           |
| an owner's images, newest first, by date range   | Query by_owner: gsi1pk=OWNER#<owner>, gsi1sk between    |
| images by status (FAILED for retry, PENDING ...) | Query by_status: gsi2pk=STATUS#<status>                 |
| images made by another pipeline version          | Query by_status: gsi2sk < V<cur># and >= V<cur>$        |
| an owner's PROCESSED images with the same bytes  | Query by_content: gsi3pk=OWNER#<owner>#SHA#<sha256>,    |
|   (of one pipeline version)                      |   begins_with(gsi3sk, <version>#), a few items a page   |
| an owner's images with a similar perceptual hash | Query pk=OWNER#<owner>#PH#<band> per band (band items)  |

Band items (``pk=OWNER#<owner>#PH#<i>-<bits>``, ``sk=<image id>``, with ``phash``) are written when a record
becomes PROCESSED and removed with it; they are hints: every candidate is checked against its record.

The CDK app and the local runtime both build the table from ``TABLE`` (one definition).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PENDING = "PENDING"  # upload URL handed out, nothing received yet
    PROCESSING = "PROCESSING"  # a run has claimed the upload
    PROCESSED = "PROCESSED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"  # upload URL handed out, nothing ever came (the repair says so; expires by TTL)
    DELETED = "DELETED"  # a tombstone: keeps late runs and late uploads from bringing the image back


FINAL_STATUSES = (Status.PROCESSED, Status.REJECTED, Status.FAILED, Status.EXPIRED)
#: Statuses of an image whose original was stored and run through the pipeline (``all`` and ``stale``).
STORED_STATUSES = (Status.PROCESSED, Status.REJECTED, Status.FAILED)

#: DynamoDB TTL attribute (epoch seconds): tombstones expire once no upload URL for them can still be used.
TTL_ATTRIBUTE = "expires_at"


PK, SK = "pk", "sk"
IMAGE_SK = "IMAGE"
BY_OWNER, BY_STATUS, BY_CONTENT = "by_owner", "by_status", "by_content"


def image_pk(image_id: str) -> str:
    return f"IMG#{image_id}"


def owner_pk(owner: str) -> str:
    return f"OWNER#{owner}"


def owner_sk(created_at: str, image_id: str) -> str:
    return f"{created_at}#{image_id}"


def content_pk(owner: str, sha256: str) -> str:
    """by_content: an owner's images with these bytes (never another owner's)."""
    return f"OWNER#{owner}#SHA#{sha256}"


def content_sk(pipeline_version: str, image_id: str) -> str:
    """by_content's sort key: a lookup for one pipeline version reads only that version's entries."""
    return f"{pipeline_version}#{image_id}"


def band_pk(owner: str, band: str) -> str:
    """A band item's partition: an owner's images whose perceptual hash has this band."""
    return f"OWNER#{owner}#PH#{band}"


def status_pk(status: str) -> str:
    return f"STATUS#{status}"


def version_prefix(pipeline_version: str) -> str:
    return f"V{pipeline_version}#"


def version_end(pipeline_version: str) -> str:
    """The first sort key after every key of ``pipeline_version`` ('$' follows '#')."""
    return f"V{pipeline_version}$"


def status_sk(pipeline_version: str, updated_at: str, image_id: str) -> str:
    """``V<version>#<updated_at>#<id>``: a version is a hash, so "other versions" is two ranges."""
    return f"{version_prefix(pipeline_version)}{updated_at}#{image_id}"


def parse_status_sk(sk: str) -> tuple[str, str]:
    """(pipeline version, updated_at) of a by_status sort key."""
    version, updated_at, _ = sk[1:].split("#", 2)
    return version, updated_at


TABLE: dict[str, Any] = {
    "KeySchema": [{"AttributeName": PK, "KeyType": "HASH"}, {"AttributeName": SK, "KeyType": "RANGE"}],
    "AttributeDefinitions": [
        {"AttributeName": name, "AttributeType": "S"}
        for name in (PK, SK, "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk")
    ],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": BY_OWNER,
            "KeySchema": [
                {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
        {
            "IndexName": BY_STATUS,
            "KeySchema": [
                {"AttributeName": "gsi2pk", "KeyType": "HASH"},
                {"AttributeName": "gsi2sk", "KeyType": "RANGE"},
            ],
            # Reprocessing needs only where the original is; keep the index small.
            "Projection": {
                "ProjectionType": "INCLUDE",
                "NonKeyAttributes": [
                    "image_id",
                    "owner",
                    "source_bucket",
                    "source_key",
                    "seq",
                    "status",
                    "execution_arn",
                    "created_at",
                ],
            },
        },
        {
            # Sparse: only PROCESSED records with a sha256 carry gsi3pk; a tombstone drops out.
            "IndexName": BY_CONTENT,
            "KeySchema": [
                {"AttributeName": "gsi3pk", "KeyType": "HASH"},
                {"AttributeName": "gsi3sk", "KeyType": "RANGE"},
            ],
            "Projection": {
                "ProjectionType": "INCLUDE",
                "NonKeyAttributes": ["image_id", "status", "pipeline_version"],
            },
        },
    ],
    "BillingMode": "PAY_PER_REQUEST",
}
