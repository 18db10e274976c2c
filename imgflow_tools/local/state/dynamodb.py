"""DynamoDB in the state: each item is a row (table, key, item in DynamoDB JSON)."""

from __future__ import annotations

import json
from typing import Any

from imgflow_tools.local.state.changes import item_key

#: A row of ``ddb_items``: (table, key json, item json or None when the item is gone).
ItemRow = tuple[str, str, str | None]


def backend(account: str, region: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[account][region]


def _lock() -> Any:
    from imgflow_tools.local import moto_adapter

    return moto_adapter._dynamodb_lock


def _table(account: str, region: str, name: str) -> Any:
    return backend(account, region).tables.get(name)


def capture(account: str, region: str, table_name: str, key_json: str) -> ItemRow | None:
    """The row of one item as it is now (None as the item when it is gone; None if the table is)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    table = _table(account, region, table_name)
    if table is None:
        return None
    hash_key, range_key = json.loads(key_json)
    with _lock():
        item = table.get_item(DynamoType(hash_key), DynamoType(range_key) if range_key else None)
        data = json.dumps(item.to_json()["Attributes"], separators=(",", ":")) if item else None
    return table_name, key_json, data


def capture_table(account: str, region: str, table_name: str) -> list[ItemRow]:
    """Every item of a table (when a write's key could not be read)."""
    table = _table(account, region, table_name)
    if table is None:
        return []
    rows: list[ItemRow] = []
    with _lock():
        for item in table.all_items():
            attrs = item.to_json()["Attributes"]
            key = item_key(attrs, table.hash_key_attr, table.range_key_attr)
            rows.append((table_name, key, json.dumps(attrs, separators=(",", ":"))))
    return rows


def _typed(cls: Any, value: dict[str, Any]) -> Any:
    """``DynamoType(value)`` without its per-call checks (what moto builds, ~3x faster: restore only)."""
    typed = cls.__new__(cls)
    ((typed.type, inner),) = value.items()
    if typed.type == "L":
        inner = [_typed(cls, v) for v in inner]
    elif typed.type == "M":
        inner = {k: _typed(cls, v) for k, v in inner.items()}
    typed.value = inner
    return typed


def restore(account: str, region: str, rows: list[tuple[str, str]]) -> tuple[int, set[str]]:
    """Put the items back (into the tables deployed); returns the count and the tables not found."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    missing: set[str] = set()
    count = 0
    tables = backend(account, region).tables
    for table_name, item_json in rows:
        table = tables.get(table_name)
        if table is None:
            missing.add(table_name)
            continue
        attrs = json.loads(item_json)
        hash_key = DynamoType(attrs[table.hash_key_attr])
        range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
        # Item(...) re-sums the item's size for every attribute it sets (quadratic: 7 ms per item of this
        # table, 68 s for 10,000); these items were within the limit when written: filled in one update.
        item = Item(hash_key, range_key, {})
        dict.update(item.attrs, {name: _typed(DynamoType, value) for name, value in attrs.items()})
        if range_key is not None:
            table.items[hash_key][range_key] = item
        else:
            table.items[hash_key] = item
        count += 1
    return count, missing
