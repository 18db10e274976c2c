"""Opaque, tamper-evident list cursors: DynamoDB's LastEvaluatedKey, signed and bound to owner and query.

``<base64url(json key)>.<base64url(HMAC-SHA256(secret, owner | query | json key))>``. Any change to the key,
or using it for another owner or another filter set, fails the MAC: a 400, never someone else's data.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from functools import cache
from typing import Any

from imgflow.records import table as t

MAX_CURSOR = 2048


class InvalidCursor(ValueError):
    """The cursor was not issued by this API for this owner and query."""


@cache
def _fallback_key() -> bytes:
    # No IMGFLOW_CURSOR_KEY: cursors stay valid for this process only (fine locally, not for Lambda).
    return secrets.token_bytes(32)


def _secret(secret: str) -> bytes:
    return secret.encode() if secret else _fallback_key()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, owner: str, query: str, body: bytes) -> bytes:
    message = b"v1\n" + owner.encode() + b"\n" + query.encode() + b"\n" + body
    return hmac.new(_secret(secret), message, hashlib.sha256).digest()


def encode(key: dict[str, Any], *, owner: str, query: str, secret: str) -> str:
    body = json.dumps(key, sort_keys=True, separators=(",", ":")).encode()
    return f"{_b64(body)}.{_b64(_mac(secret, owner, query, body))}"


def decode(cursor: str, *, owner: str, query: str, secret: str) -> dict[str, Any]:
    """The LastEvaluatedKey in ``cursor``; ``InvalidCursor`` unless this API made it for owner and query."""
    if len(cursor) > MAX_CURSOR or cursor.count(".") != 1:
        raise InvalidCursor("malformed cursor")
    body_part, mac_part = cursor.split(".")
    try:
        body, mac = _unb64(body_part), _unb64(mac_part)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor("malformed cursor") from exc
    if not hmac.compare_digest(mac, _mac(secret, owner, query, body)):
        raise InvalidCursor("cursor is not valid for this query")
    key = json.loads(body)
    # Belt and braces: the MAC already binds the owner; the key must also point into their partition.
    if not isinstance(key, dict) or key.get("gsi1pk") != {"S": t.owner_pk(owner)}:
        raise InvalidCursor("cursor is not valid for this query")
    return key
