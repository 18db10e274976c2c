"""Local bearer tokens: what Cognito and the HTTP API's JWT authorizer do in AWS, for ``imgflow serve``.

HS256 JWTs signed with a local key. The key lives in ``<state dir>/local-jwt.key`` (created on first use,
mode 0600), so ``imgflow token NAME`` and a running ``imgflow serve`` agree without talking to each other.
The state dir is ``$IMGFLOW_STATE_DIR``, else ``$XDG_STATE_HOME/imgflow``, else ``~/.local/state/imgflow``.
Local use only: in AWS the owner is the ``sub`` claim the authorizer verified.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

import jwt

from imgflow import keys

ISSUER = "imgflow-local"
AUDIENCE = "imgflow"
ALGORITHM = "HS256"
DEFAULT_TTL_S = 12 * 3600
KEY_FILE = "local-jwt.key"


class InvalidToken(Exception):
    """The bearer token is missing, malformed, expired or not signed with the local key."""


def state_dir() -> Path:
    if explicit := os.environ.get("IMGFLOW_STATE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "imgflow"


def local_key(directory: Path | None = None) -> bytes:
    """The local signing key, created atomically on first use (concurrent first uses agree)."""
    path = (directory or state_dir()) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)  # fails if another process won the race: then its key is the key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip().encode()


def issue(name: str, *, key: bytes, ttl_s: int = DEFAULT_TTL_S, **claims: Any) -> str:
    """A token whose ``sub`` is ``name`` (the owner of the images made with it)."""
    if not keys.is_valid_segment(name):
        raise ValueError("a local user name is 1-128 characters of [A-Za-z0-9_-]")
    now = int(time.time())
    payload = {"sub": name, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + ttl_s, **claims}
    return jwt.encode(payload, key, algorithm=ALGORITHM)


def verify(token: str, *, key: bytes) -> dict[str, Any]:
    """The claims of a valid token (signature, expiry, issuer, audience, sub); else ``InvalidToken``."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["sub", "exp", "iat"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if not isinstance(claims.get("sub"), str) or not keys.is_valid_segment(claims["sub"]):
        raise InvalidToken("sub is not a valid user name")
    return claims
