"""The local stack's operator credentials: an access key pair made at first start, kept beside the token key.

``<state dir>/local-aws.json`` (mode 0600; the state dir of ``imgflow_tools.tokens``). ``imgflow serve``
prints them (``--json``: ``"aws"``), its AWS endpoint accepts calls signed with them (and with the role
sessions of its own functions), and the operator commands use them with ``--endpoint``.
"""

from __future__ import annotations

import json
import os
import secrets
import string
from collections.abc import Mapping
from pathlib import Path

from imgflow_tools import tokens

CREDENTIALS_FILE = "local-aws.json"
REGION = "us-east-1"
_KEY_ALPHABET = string.ascii_uppercase + string.digits


def new_key_id(prefix: str) -> str:
    """An access key id as AWS makes them (``AKIA``/``ASIA`` + 16 of [A-Z0-9])."""
    return prefix + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))


def operator_credentials(directory: Path | None = None) -> dict[str, str]:
    """``{"access_key_id", "secret_access_key", "region"}``, created atomically on first use."""
    path = (directory or tokens.state_dir()) / CREDENTIALS_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{CREDENTIALS_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(
                {
                    "access_key_id": new_key_id("AKIA"),
                    "secret_access_key": secrets.token_urlsafe(30)[:40],
                    "region": REGION,
                },
                out,
            )
        try:
            os.link(tmp, path)  # another process won the race: its pair is the pair
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return dict(json.loads(path.read_text()))


def signed_headers(
    method: str,
    url: str,
    body: bytes = b"",
    *,
    headers: Mapping[str, str] | None = None,
    keys: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Headers of a request to the local endpoint's ``/moto-api`` or ``/_imgflow`` routes, signed (SigV4)
    with the operator's key (as every call to it must be): ``keys`` (``imgflow serve --json``'s ``"aws"``),
    else this state dir's."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    keys = keys or operator_credentials()
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    credentials = Credentials(keys["access_key_id"], keys["secret_access_key"])
    SigV4Auth(credentials, "imgflow", keys.get("region", REGION)).add_auth(request)
    return dict(request.headers.items())
