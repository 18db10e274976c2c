"""Near and exact duplicates through the API service on the local stack: the generated set, sha256 tickets."""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

from api import service
from api.models import UploadSpec
from imgflow import keys, similarity
from imgflow.config import DEFAULT_RENDITIONS, Limits
from imgflow.image.phash import phash
from imgflow.records import table as t
from imgflow.records.repository import _SER, ContentIndex
from imgflow_tools.local.cloud import LocalCloud
from imgflow_tools.similar_set import near_duplicate_set
from tasks.resize.renditions import render_with_preview


def _put_processed(cloud: LocalCloud, owner: str, image_id: str, **fields: Any) -> None:
    """A PROCESSED record as the workflow leaves it (only the fields these features read)."""
    item = {
        t.PK: t.image_pk(image_id),
        t.SK: t.IMAGE_SK,
        "image_id": image_id,
        "owner": owner,
        "status": "PROCESSED",
        "created_at": "2026-01-01T00:00:00.000Z",
        "pipeline_version": cloud.settings.pipeline_version,
        "gsi1pk": t.owner_pk(owner),
        "gsi1sk": t.owner_sk("2026-01-01T00:00:00.000Z", image_id),
        **fields,
    }
    cloud.client("dynamodb").put_item(
        TableName=cloud.settings.table_name, Item={k: _SER.serialize(v) for k, v in item.items()}
    )


def test_similar_over_the_generated_set_finds_variants_and_not_unrelated_photos(cloud: LocalCloud) -> None:
    owner = "lookalikes"
    items = near_duplicate_set(generated=10, corpus=False)
    index = ContentIndex(cloud.settings.table_name)
    ids = []
    for item in items:
        _, preview = render_with_preview(item.data, DEFAULT_RENDITIONS, Limits())
        assert preview is not None
        image_id = keys.new_image_id()
        value = phash(preview)
        _put_processed(cloud, owner, image_id, phash=value)
        index.put_bands(owner, image_id, similarity.bands(value), [])
        ids.append(image_id)
    _put_processed(cloud, "stranger", keys.new_image_id(), phash="0" * 16)  # another owner's: never listed

    found = {i: {s.id for s in service.similar_images(owner, i, cloud.settings).items} for i in ids}
    near = unrelated = hits = false = 0
    for a, b in itertools.combinations(range(len(items)), 2):
        listed = ids[b] in found[ids[a]]
        assert listed == (ids[a] in found[ids[b]])  # symmetric
        if items[a].group == items[b].group:
            near, hits = near + 1, hits + listed
        else:
            unrelated, false = unrelated + 1, false + listed
    assert hits / near >= 0.95, f"recall {hits / near:.3f}"
    assert false / unrelated <= 0.01, f"false positives {false / unrelated:.4f}"
    assert all(i not in found[i] for i in ids)  # never itself


def test_a_sha256_is_answered_for_its_owner_only(cloud: LocalCloud) -> None:
    data = b"the bytes of a photo"
    sha = hashlib.sha256(data).hexdigest()
    first = keys.new_image_id()
    _put_processed(
        cloud,
        "hasher",
        first,
        sha256=sha,
        gsi3pk=t.content_pk("hasher", sha),
        gsi3sk=t.content_sk("v", first),
    )
    spec = UploadSpec(filename="again.jpg", content_type="image/jpeg", size=len(data), sha256=sha)

    [known] = service.create_uploads("hasher", [spec], cloud.settings)
    assert (known.duplicate_of, known.id, known.upload) == (first, first, None)
    [other] = service.create_uploads("someone-else", [spec], cloud.settings)  # the same bytes, another owner
    assert other.duplicate_of is None and other.upload is not None and other.id != first
    unknown = spec.model_copy(update={"sha256": "0" * 64})
    [fresh] = service.create_uploads("hasher", [unknown], cloud.settings)
    assert fresh.duplicate_of is None and fresh.upload is not None

    # Deleting the image takes it out of the index: the next ticket asks for an upload.
    service.delete_image("hasher", first, cloud.settings)
    [after] = service.create_uploads("hasher", [spec], cloud.settings)
    assert after.duplicate_of is None and after.upload is not None
