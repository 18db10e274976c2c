"""Table layout: one item per image, two GSIs, every access pattern a Query.

| access pattern                                   | how                                                     |
|--------------------------------------------------|---------------------------------------------------------|
| get an image by id                               | GetItem pk=IMG#<id>, sk=IMAGE                           |
| an owner's images, newest first, by date range   | Query by_owner: gsi1pk=OWNER#<owner>, gsi1sk between    |
| images by status (FAILED for retry, PENDING ...) | Query by_status: gsi2pk=STATUS#<status>                 |
| images made by an older pipeline version         | Query by_status with gsi2sk < V<current>                |

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
    DELETED = "DELETED"  # a tombstone: keeps late runs and late uploads from bringing the image back


FINAL_STATUSES = (Status.PROCESSED, Status.REJECTED, Status.FAILED)

#: DynamoDB TTL attribute (epoch seconds): tombstones expire once no upload URL for them can still be used.
TTL_ATTRIBUTE = "expires_at"


PK, SK = "pk", "sk"
IMAGE_SK = "IMAGE"
BY_OWNER, BY_STATUS = "by_owner", "by_status"


def image_pk(image_id: str) -> str:
    return f"IMG#{image_id}"


def owner_pk(owner: str) -> str:
    return f"OWNER#{owner}"


def owner_sk(created_at: str, image_id: str) -> str:
    return f"{created_at}#{image_id}"


def status_pk(status: str) -> str:
    return f"STATUS#{status}"


def version_prefix(pipeline_version: int) -> str:
    return f"V{pipeline_version:06d}#"


def status_sk(pipeline_version: int, updated_at: str, image_id: str) -> str:
    return f"{version_prefix(pipeline_version)}{updated_at}#{image_id}"


TABLE: dict[str, Any] = {
    "KeySchema": [{"AttributeName": PK, "KeyType": "HASH"}, {"AttributeName": SK, "KeyType": "RANGE"}],
    "AttributeDefinitions": [
        {"AttributeName": name, "AttributeType": "S"}
        for name in (PK, SK, "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")
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
                "NonKeyAttributes": ["image_id", "owner", "source_bucket", "source_key", "seq", "status"],
            },
        },
    ],
    "BillingMode": "PAY_PER_REQUEST",
}
