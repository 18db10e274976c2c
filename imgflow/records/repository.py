"""Reads and conditional writes of image records (DynamoDB, through the low-level client)."""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from imgflow import aws
from imgflow.errors import DuplicateRun, SupersededResult
from imgflow.records import table as t
from imgflow.records.table import Status

_SER, _DESER = TypeSerializer(), TypeDeserializer()
#: A PROCESSING claim older than this may be taken over by a reprocess request (its run died).
STALE_CLAIM = timedelta(hours=1)
#: How long a deleted image's tombstone stays (longer than any upload URL or run lives).
TOMBSTONE_TTL = timedelta(days=2)
#: How long an EXPIRED record (an upload URL nobody used) stays visible before DynamoDB's TTL removes it.
EXPIRED_TTL = timedelta(days=2)
#: No run may claim or finish a deleted image.
NOT_DELETED = "attribute_not_exists(deleted_at)"
#: The run finishing is the one that claimed, or no newer upload has been claimed (its own claim failed).
FINISH_OWNS = "execution_arn = :exec OR attribute_not_exists(seq) OR seq < :seq"
#: Executions a record remembers (``runs``, oldest first): enough to inspect recent runs without a listing.
MAX_RUNS = 10
#: by_content entries read a page: the first PROCESSED one is almost always the first (the oldest).
CONTENT_PAGE = 8


def now_iso() -> str:
    return iso(datetime.now(UTC))


def iso(value: datetime) -> str:
    """The table's timestamp format (UTC, milliseconds, Z)."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_dynamo(value: Any) -> Any:
    """Floats become Decimals (DynamoDB has no float); containers are converted recursively."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_dynamo(v) for v in value]
    return value


def from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    return value


def _item(raw: dict[str, Any]) -> dict[str, Any]:
    return from_dynamo({k: _DESER.deserialize(v) for k, v in raw.items()})


def _update(sets: dict[str, Any], if_absent: dict[str, Any] | None = None) -> dict[str, Any]:
    """UpdateExpression, names and values for SET of ``sets`` (and if_not_exists for ``if_absent``)."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    parts = []
    for i, (name, value) in enumerate({**sets, **(if_absent or {})}.items()):
        names[f"#a{i}"] = name
        values[f":a{i}"] = _SER.serialize(to_dynamo(value))
        if if_absent and name in if_absent:
            parts.append(f"#a{i} = if_not_exists(#a{i}, :a{i})")
        else:
            parts.append(f"#a{i} = :a{i}")
    return {
        "UpdateExpression": "SET " + ", ".join(parts),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def _identity(image_id: str, owner: str, now: str) -> dict[str, Any]:
    """What a record gets once, whichever write creates it (a PENDING record already has it)."""
    return {
        "image_id": image_id,
        "owner": owner,
        "created_at": now,
        "gsi1pk": t.owner_pk(owner),
        "gsi1sk": t.owner_sk(now, image_id),
    }


P = ParamSpec("P")
R = TypeVar("R")


def _translated(method: Callable[P, R]) -> Callable[P, R]:
    """Run ``method`` inside ``aws.translated_errors()``: throttling, 5xx and timeouts get workflow names.

    Condition failures are handled inside each method (they become DuplicateRun, SupersededResult, ...).
    """

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with aws.translated_errors():
            return method(*args, **kwargs)

    return wrapper


def _is_condition_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    #: DynamoDB's LastEvaluatedKey, or None on the last page (the API turns it into an opaque cursor).
    next_key: dict[str, Any] | None


class _TableAccess:
    """The table and its client (the shared one unless a caller, e.g. an operator tool, brings its own)."""

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or aws.client("dynamodb")


class ImageRepository(_TableAccess):
    """Every read and write of image records goes through here."""

    def _key(self, image_id: str) -> dict[str, Any]:
        return {t.PK: {"S": t.image_pk(image_id)}, t.SK: {"S": t.IMAGE_SK}}

    # -- writes ---------------------------------------------------------------------------------------
    @_translated
    def create_pending(
        self, *, image_id: str, owner: str, filename: str, content_type: str, size: int | None, **extra: Any
    ) -> dict[str, Any]:
        """The record of an upload URL handed out; the workflow turns it into a final record."""
        now = now_iso()
        item = {
            t.PK: t.image_pk(image_id),
            t.SK: t.IMAGE_SK,
            **_identity(image_id, owner, now),
            "status": Status.PENDING.value,
            "filename": filename,
            "content_type": content_type,
            "declared_bytes": size,
            "updated_at": now,
            "gsi2pk": t.status_pk(Status.PENDING),
            "gsi2sk": t.status_sk("", now, image_id),  # no run, no pipeline version yet
            **extra,
        }
        item = {k: v for k, v in item.items() if v is not None}
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={k: _SER.serialize(to_dynamo(v)) for k, v in item.items()},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            # botocore retried a put that had been applied (a 500 or timeout after the write): ours.
            existing = self.get(image_id) if _is_condition_failure(exc) else None
            if not existing or existing.get("created_at") != item["created_at"]:
                raise
        return item

    @_translated
    def claim(
        self,
        *,
        image_id: str,
        owner: str,
        bucket: str,
        key: str,
        sequencer: str,
        execution_arn: str,
        pipeline_version: str,
        reprocess: bool = False,
        replaces: str | None = None,
    ) -> None:
        """Make ``execution_arn`` the owner of the image's record for this upload.

        A new upload wins over an older one (S3 sequencers grow per key); a reprocess run may take over the
        same upload once no live run holds it, or from ``replaces`` (a run the repair found dead), or a
        record no run ever claimed (its upload event was lost). The same execution may claim again (a
        retried invoke). Raises ``DuplicateRun`` when another run owns it: a duplicated or stale event.
        """
        now = now_iso()
        update = _update(
            {
                "status": Status.PROCESSING.value,
                "seq": sequencer,
                "execution_arn": execution_arn,
                "source_bucket": bucket,
                "source_key": key,
                "updated_at": now,
                "claimed_at": now,
                "pipeline_version": pipeline_version,
                "gsi2pk": t.status_pk(Status.PROCESSING),
                "gsi2sk": t.status_sk(pipeline_version, now, image_id),
            },
            if_absent=_identity(image_id, owner, now),
        )
        # Every run that claims the image is remembered (the API and `imgflow runs show` read them).
        update["UpdateExpression"] += ", runs = list_append(if_not_exists(runs, :no_runs), :this_run)"
        values = update["ExpressionAttributeValues"]
        values.update({":seq": {"S": sequencer}, ":exec": {"S": execution_arn}})
        values.update({":no_runs": {"L": []}, ":this_run": {"L": [{"S": execution_arn}]}})
        if reprocess:
            stale = (
                (datetime.now(UTC) - STALE_CLAIM).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            )
            values.update({":processing": {"S": Status.PROCESSING.value}, ":stale": {"S": stale}})
            free = "#st <> :processing OR #upd < :stale"
            if replaces:
                values[":replaces"] = {"S": replaces}
                free += " OR execution_arn = :replaces"
            condition = f"execution_arn = :exec OR attribute_not_exists(seq) OR (seq = :seq AND ({free}))"
            update["ExpressionAttributeNames"].update({"#st": "status", "#upd": "updated_at"})
        else:
            condition = "attribute_not_exists(seq) OR seq < :seq OR execution_arn = :exec"
        condition = f"({condition}) AND {NOT_DELETED}"
        try:
            claimed = self.client.update_item(
                TableName=self.table_name,
                Key=self._key(image_id),
                ConditionExpression=condition,
                ReturnValues="UPDATED_NEW",
                **update,
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                raise DuplicateRun(f"image {image_id}: another run owns upload {sequencer}") from exc
            raise
        self._trim_runs(image_id, execution_arn, claimed["Attributes"].get("runs", {}).get("L", []))

    def _trim_runs(self, image_id: str, execution_arn: str, runs: list[dict[str, str]]) -> None:
        """Keep ``runs`` short and free of repeats (a retried claim appends again); rarely a second write."""
        arns = [r["S"] for r in runs]
        kept = list(dict.fromkeys(reversed(arns)))[:MAX_RUNS][::-1]
        if kept == arns:
            return
        with contextlib.suppress(ClientError):  # a concurrent claim changed the list: it trims it
            self.client.update_item(
                TableName=self.table_name,
                Key=self._key(image_id),
                UpdateExpression="SET runs = :kept",
                ConditionExpression="execution_arn = :exec AND runs = :seen",
                ExpressionAttributeValues={
                    ":kept": {"L": [{"S": a} for a in kept]},
                    ":exec": {"S": execution_arn},
                    ":seen": {"L": runs},
                },
            )

    @_translated
    def finish(
        self,
        *,
        image_id: str,
        owner: str,
        sequencer: str,
        execution_arn: str,
        status: Status,
        pipeline_version: str,
        fields: dict[str, Any],
        bucket: str,
        key: str,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Write the final result, only if this run still owns the record (else ``SupersededResult``).

        Returns (the record now, the record before): the caller removes renditions the old one listed.
        """
        now = now_iso()
        sets = {
            **fields,
            "status": status.value,
            "seq": sequencer,
            "execution_arn": execution_arn,
            "source_bucket": bucket,
            "source_key": key,
            "updated_at": now,
            "finished_at": now,
            "pipeline_version": pipeline_version,
            "gsi2pk": t.status_pk(status),
            "gsi2sk": t.status_sk(pipeline_version, now, image_id),
        }
        update = _update(
            sets,
            if_absent=_identity(image_id, owner, now),
        )
        update["ExpressionAttributeValues"].update({":seq": {"S": sequencer}, ":exec": {"S": execution_arn}})
        try:
            result = self.client.update_item(
                TableName=self.table_name,
                Key=self._key(image_id),
                ConditionExpression=f"({FINISH_OWNS}) AND {NOT_DELETED}",
                ReturnValues="ALL_OLD",
                **update,
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                raise SupersededResult(f"image {image_id}: a newer run owns the record") from exc
            raise
        old = _item(result.get("Attributes", {}))
        identity = _identity(image_id, owner, now)
        new = {**identity, **old, **from_dynamo(to_dynamo(sets))}
        return {k: v for k, v in new.items() if v is not None}, old

    # -- reads ----------------------------------------------------------------------------------------
    @_translated
    def get(self, image_id: str, *, consistent: bool = True) -> dict[str, Any] | None:
        raw = self.client.get_item(
            TableName=self.table_name, Key=self._key(image_id), ConsistentRead=consistent
        )
        return _item(raw["Item"]) if "Item" in raw else None

    @_translated
    def _query(self, start_key: dict[str, Any] | None, **kwargs: Any) -> Page:
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        raw = self.client.query(TableName=self.table_name, **kwargs)
        return Page([_item(i) for i in raw.get("Items", [])], raw.get("LastEvaluatedKey"))

    def list_by_owner(
        self,
        owner: str,
        *,
        limit: int = 50,
        start_key: dict[str, Any] | None = None,
        since: str | None = None,
        until: str | None = None,
        status: str | None = None,
        tag: str | None = None,
    ) -> Page:
        """An owner's images, newest first; ``since``/``until`` are ISO timestamps on ``created_at``."""
        condition = "gsi1pk = :o"
        values: dict[str, Any] = {":o": {"S": t.owner_pk(owner)}}
        if since or until:
            condition += " AND gsi1sk BETWEEN :lo AND :hi"
            values[":lo"] = {"S": since or ""}
            values[":hi"] = {"S": (until or "9999") + "~"}
        filters, names = [], {}
        if status:
            filters.append("#st = :st")
            names["#st"] = "status"
            values[":st"] = {"S": status}
        if tag:
            filters.append("contains(tags, :tag)")
            values[":tag"] = {"S": tag}
        extra: dict[str, Any] = {}
        if filters:
            extra["FilterExpression"] = " AND ".join(filters)
        if names:
            extra["ExpressionAttributeNames"] = names
        return self._query(
            start_key,
            IndexName=t.BY_OWNER,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
            Limit=limit,
            **extra,
        )

    def by_status(
        self,
        status: Status,
        *,
        below: str | None = None,
        at_or_above: str | None = None,
        limit: int = 100,
        start_key: dict[str, Any] | None = None,
    ) -> Page:
        """Images in ``status`` (a by_status Query); ``below``/``at_or_above`` bound the sort key
        (``V<version>#<updated_at>#<id>``)."""
        condition = "gsi2pk = :s"
        values: dict[str, Any] = {":s": {"S": t.status_pk(status)}}
        if below is not None and at_or_above is not None:
            condition += " AND gsi2sk BETWEEN :lo AND :hi"
            values[":lo"] = {"S": at_or_above}
            values[":hi"] = {"S": below}  # inclusive; callers pass a bound no key equals
        elif below is not None:
            condition += " AND gsi2sk < :hi"
            values[":hi"] = {"S": below}
        elif at_or_above is not None:
            condition += " AND gsi2sk >= :lo"
            values[":lo"] = {"S": at_or_above}
        return self._query(
            start_key,
            IndexName=t.BY_STATUS,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            Limit=limit,
        )

    def iter_by_status(
        self, status: Status, *, below: str | None = None, at_or_above: str | None = None, page: int = 500
    ) -> Iterator[dict[str, Any]]:
        """Every image in ``status`` within the bounds, page after page (Query, never Scan)."""
        start: dict[str, Any] | None = None
        while True:
            result = self.by_status(status, below=below, at_or_above=at_or_above, limit=page, start_key=start)
            yield from result.items
            if not result.next_key:
                return
            start = result.next_key

    def iter_by_owner(
        self, owner: str, *, since: str | None = None, until: str | None = None, page: int = 500
    ) -> Iterator[dict[str, Any]]:
        """Every image of ``owner`` (by_owner Query; ``since``/``until`` on ``created_at``), newest first."""
        start: dict[str, Any] | None = None
        while True:
            result = self.list_by_owner(
                owner, limit=page, start_key=start, since=since or ("0" if until else None), until=until
            )
            yield from result.items
            if not result.next_key:
                return
            start = result.next_key

    @_translated
    def expire_pending(self, image_id: str, *, updated_before: str) -> bool:
        """A PENDING record whose upload never came becomes EXPIRED (visible, then removed by TTL).

        Only if it is still PENDING, unclaimed and older than ``updated_before`` (an upload that arrives
        meanwhile wins). False when the condition no longer holds.
        """
        now = now_iso()
        update = _update(
            {
                "status": Status.EXPIRED.value,
                "updated_at": now,
                "finished_at": now,
                "reason": "upload_never_received",
                "gsi2pk": t.status_pk(Status.EXPIRED),
                "gsi2sk": t.status_sk("", now, image_id),
                t.TTL_ATTRIBUTE: int((datetime.now(UTC) + EXPIRED_TTL).timestamp()),
            }
        )
        update["ExpressionAttributeNames"].update({"#st": "status", "#upd": "updated_at"})
        update["ExpressionAttributeValues"].update(
            {":pending": {"S": Status.PENDING.value}, ":cut": {"S": updated_before}}
        )
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=self._key(image_id),
                ConditionExpression=(
                    f"#st = :pending AND attribute_not_exists(seq) AND #upd < :cut AND {NOT_DELETED}"
                ),
                **update,
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    @_translated
    def get_many(self, image_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Records by id (BatchGetItem, 100 at a time, unprocessed keys retried); missing ids are absent."""
        found: dict[str, dict[str, Any]] = {}
        for i in range(0, len(image_ids), 100):
            request: dict[str, Any] = {
                self.table_name: {
                    "Keys": [self._key(x) for x in image_ids[i : i + 100]],
                    "ConsistentRead": True,
                }
            }
            for attempt in range(8):
                raw = self.client.batch_get_item(RequestItems=request)
                for item in raw.get("Responses", {}).get(self.table_name, []):
                    record = _item(item)
                    found[record["pk"][len("IMG#") :]] = record
                request = raw.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(min(1.0, 0.05 * 2**attempt))
        return found

    # -- API: owner-scoped edits ------------------------------------------------------------------------
    @_translated
    def _owned_update(self, image_id: str, owner: str, **kwargs: Any) -> dict[str, Any] | None:
        """An update_item that applies only to ``owner``'s existing record; None when it is not theirs."""
        kwargs.setdefault("ExpressionAttributeNames", {})["#owner"] = "owner"
        kwargs.setdefault("ExpressionAttributeValues", {})[":owner"] = {"S": owner}
        try:
            result = self.client.update_item(
                TableName=self.table_name,
                Key=self._key(image_id),
                ConditionExpression=f"#owner = :owner AND {NOT_DELETED}",
                ReturnValues="ALL_NEW",
                **kwargs,
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                return None
            raise
        return _item(result["Attributes"])

    def update_details(
        self, image_id: str, owner: str, *, tags: list[str] | None = None, description: str | None = None
    ) -> dict[str, Any] | None:
        """Set tags and/or description of the owner's image (None: not found); workflow fields untouched."""
        sets = {k: v for k, v in {"tags": tags, "description": description}.items() if v is not None}
        if not sets:
            return self.get_owned(image_id, owner)
        return self._owned_update(image_id, owner, **_update({**sets, "edited_at": now_iso()}))

    def record_access(self, image_id: str, owner: str) -> dict[str, Any] | None:
        """Count one access of the owner's image and return the record (None: not found)."""
        return self._owned_update(
            image_id,
            owner,
            UpdateExpression="ADD access_count :one SET last_accessed_at = :now",
            ExpressionAttributeValues={":one": {"N": "1"}, ":now": {"S": now_iso()}},
        )

    @_translated
    def get_owned(self, image_id: str, owner: str) -> dict[str, Any] | None:
        """The record if it belongs to ``owner``: someone else's image is as absent as a missing one, and
        costs the same work (the owner is a filter on DynamoDB's side, so neither item reaches this code)."""
        raw = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression="#pk = :pk AND #sk = :sk",
            FilterExpression="#owner = :owner AND #status <> :deleted",
            ExpressionAttributeNames={"#pk": t.PK, "#sk": t.SK, "#owner": "owner", "#status": "status"},
            ExpressionAttributeValues={
                ":pk": {"S": t.image_pk(image_id)},
                ":sk": {"S": t.IMAGE_SK},
                ":owner": {"S": owner},
                ":deleted": {"S": Status.DELETED.value},
            },
            ConsistentRead=True,
        )
        items = raw.get("Items") or []
        return _item(items[0]) if items else None

    @_translated
    def delete(self, image_id: str, owner: str) -> bool:
        """Replace the owner's record by a tombstone; False when there was none of theirs.

        The tombstone is in no index (gone from every list) and expires by TTL; until then no late run and
        no late upload through a still-valid presigned POST can claim or finish the image again.
        """
        now = now_iso()
        tombstone = {
            t.PK: t.image_pk(image_id),
            t.SK: t.IMAGE_SK,
            "image_id": image_id,
            "owner": owner,
            "status": Status.DELETED.value,
            "deleted_at": now,
            "updated_at": now,
            t.TTL_ATTRIBUTE: int((datetime.now(UTC) + TOMBSTONE_TTL).timestamp()),
        }
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={k: _SER.serialize(v) for k, v in tombstone.items()},
                ConditionExpression=f"#owner = :owner AND {NOT_DELETED}",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True


class ContentIndex(_TableAccess):
    """Exact and near duplicates of an owner's images: the by_content index and the band items."""

    @_translated
    def same_bytes(
        self, owner: str, sha256: str, *, pipeline_version: str | None, exclude: str = ""
    ) -> str | None:
        """The oldest of ``owner``'s PROCESSED images with these bytes (of this pipeline version, when
        given), other than ``exclude``; None if there is none. Eventually consistent.

        Reads a few index entries a page, only of that version (``begins_with`` on the sort key), and stops
        at the first match: an owner with hundreds of copies of one photo, or of an older version (a
        ``stale`` reprocess), costs the same small Query as one with a single copy.
        """
        condition, values = "gsi3pk = :c", {":c": {"S": t.content_pk(owner, sha256)}}
        if pipeline_version is not None:
            condition += " AND begins_with(gsi3sk, :v)"
            values[":v"] = {"S": t.content_sk(pipeline_version, "")}
        pages = self.client.get_paginator("query").paginate(
            TableName=self.table_name,
            IndexName=t.BY_CONTENT,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            Limit=CONTENT_PAGE,
        )
        for page in pages:
            for raw in page.get("Items", []):
                item = _item(raw)
                if item.get("status") != Status.PROCESSED or item.get("image_id") == exclude:
                    continue
                if pipeline_version is None or item.get("pipeline_version") == pipeline_version:
                    return str(item["image_id"])
        return None

    @_translated
    def put_bands(self, owner: str, image_id: str, bands: list[str], stale: list[str]) -> None:
        """Band items of the image's perceptual hash (and the removal of a previous hash's ``stale`` ones)."""
        requests = [
            {"PutRequest": {"Item": {t.PK: {"S": t.band_pk(owner, b)}, t.SK: {"S": image_id}}}} for b in bands
        ] + [
            {"DeleteRequest": {"Key": {t.PK: {"S": t.band_pk(owner, b)}, t.SK: {"S": image_id}}}}
            for b in stale
            if b not in bands
        ]
        self._batch_write(requests)

    @_translated
    def remove_bands(self, owner: str, image_id: str, bands: list[str]) -> None:
        self._batch_write(
            [
                {"DeleteRequest": {"Key": {t.PK: {"S": t.band_pk(owner, b)}, t.SK: {"S": image_id}}}}
                for b in bands
            ]
        )

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        for i in range(0, len(requests), 25):
            pending: dict[str, Any] = {self.table_name: requests[i : i + 25]}
            for attempt in range(8):
                pending = self.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if not pending:
                    break
                time.sleep(min(1.0, 0.05 * 2**attempt))

    @_translated
    def sharing_a_band(self, owner: str, bands: list[str]) -> set[str]:
        """Ids of the owner's images whose perceptual hash shares a band with ``bands``: a Query per band."""
        found: set[str] = set()
        for band in bands:
            pages = self.client.get_paginator("query").paginate(
                TableName=self.table_name,
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": t.band_pk(owner, band)}},
                ProjectionExpression="sk",
            )
            found.update(raw[t.SK]["S"] for page in pages for raw in page.get("Items", []))
        return found


def recent_runs(record: dict[str, Any]) -> list[str]:
    """ARNs of the executions that worked on the image, newest first (records older than ``runs`` too)."""
    arns = list(record.get("runs") or [])
    if record.get("execution_arn") and record["execution_arn"] not in arns:
        arns.append(record["execution_arn"])  # its run failed before it could claim (RecordFailed)
    return arns[::-1]
