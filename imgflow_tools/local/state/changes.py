"""What changed in moto since the last flush: hooks on moto's S3 and DynamoDB backends mark each object and
item they write, so a flush reads only those (never a scan of the whole state)."""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable
from typing import Any

#: An object key ("s3", bucket, key), an item ("ddb", table, key json) or a whole table ("ddb*", table, "").
Mark = tuple[str, str, str]


class Changes:
    """The marks not yet flushed, each with the time it was made."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._marks: dict[Mark, float] = {}

    def mark(self, mark: Mark) -> None:
        with self._lock:
            self._marks[mark] = time.monotonic()

    def __bool__(self) -> bool:
        return bool(self._marks)

    def take(self, settle_s: float = 0.0) -> list[Mark]:
        """The marks at least ``settle_s`` old (moto sets an object's metadata and tags just after storing
        it, in the same request: a settled mark is read once complete)."""
        cutoff = time.monotonic() - settle_s
        with self._lock:
            taken = [m for m, at in self._marks.items() if at <= cutoff]
            for m in taken:
                del self._marks[m]
        return taken


#: The store that records marks (None: an ephemeral stack; the hooks then only call through).
active: Changes | None = None
_installed = False


def item_key(key: dict[str, Any], hash_attr: str, range_attr: str | None) -> str:
    """The row key of an item: its key attributes in DynamoDB JSON, canonical."""
    return json.dumps([key[hash_attr], key[range_attr] if range_attr else None], sort_keys=True)


def _after(original: Callable[..., Any], marks: Callable[..., list[Mark]]) -> Callable[..., Any]:
    @functools.wraps(original)
    def marked(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, *args, **kwargs)
        finally:
            if (changes := active) is not None:
                try:
                    found = marks(self, *args, **kwargs)
                except Exception:
                    found = [("ddb*", _table_arg(args, kwargs), "")]
                for mark in found:
                    changes.mark(mark)

    return marked


def _table_arg(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    return str(kwargs.get("table_name", args[0] if args else ""))


def _ddb_key(backend: Any, table_name: str, key: dict[str, Any]) -> list[Mark]:
    table = backend.get_table(table_name)
    return [("ddb", table_name, item_key(key, table.hash_key_attr, table.range_key_attr))]


def install() -> None:
    """Wrap the moto methods that write objects and items (once per process)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.s3.models import S3Backend

    def s3_named(self: Any, bucket_name: str, key_name: str, *a: Any, **k: Any) -> list[Mark]:
        return [("s3", bucket_name, key_name)]

    def s3_key(self: Any, key: Any, *a: Any, **k: Any) -> list[Mark]:
        return [("s3", key.bucket_name, key.name)]

    def put_item(self: Any, table_name: str, item_attrs: dict[str, Any], *a: Any, **k: Any) -> list[Mark]:
        return _ddb_key(self, table_name, item_attrs)

    def keyed(self: Any, table_name: str, key: dict[str, Any], *a: Any, **k: Any) -> list[Mark]:
        return _ddb_key(self, table_name, key)

    for cls, name, marks in (
        (S3Backend, "put_object", s3_named),
        (S3Backend, "delete_object", s3_named),
        (S3Backend, "delete_object_tagging", s3_named),
        (S3Backend, "put_object_tagging", s3_key),
        (DynamoDBBackend, "put_item", put_item),
        (DynamoDBBackend, "update_item", keyed),
        (DynamoDBBackend, "delete_item", keyed),
    ):
        setattr(cls, name, _after(getattr(cls, name), marks))
    _installed = True
