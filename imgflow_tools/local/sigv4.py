"""SigV4 of a request the local AWS endpoint received, recomputed with botocore's own signer.

``verify`` rebuilds the canonical request from what came over the wire (method, raw path, raw query, the
signed headers, the body) and compares signatures; S3 signs its ``x-amz-content-sha256`` header, which must
then match the body unless it is ``UNSIGNED-PAYLOAD`` or a streaming form. (The tools sign their own
calls to ``/moto-api`` and ``/_imgflow`` with ``imgflow_tools.aws_keys.signed_headers``.)
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AMZ_DATE = "%Y%m%dT%H%M%SZ"
MAX_SKEW = timedelta(minutes=15)
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*SignedHeaders=(?P<signed>[^,\s]+)\s*,"
    r"\s*Signature=(?P<signature>[0-9a-fA-F]+)\s*$"
)


_JSON_TARGETS = {
    "DynamoDB_": "dynamodb",
    "AWSStepFunctions": "states",
    "AWSEvents": "events",
    "AmazonSQS": "sqs",
}


def service_of(path: str, target: str) -> str:
    """The service an unsigned request is for (its ``X-Amz-Target``, Lambda's paths; else S3)."""
    for prefix, service in _JSON_TARGETS.items():
        if target.startswith(prefix):
            return service
    if path.startswith(("/2015-03-31/", "/2017-10-31/", "/2019-09-30/")):
        return "lambda"
    return "s3"


class Refused(Exception):
    """Why a request's signature is refused: ``kind`` is missing, malformed, unknown_key, mismatch, skewed."""

    def __init__(self, kind: str, message: str = "") -> None:
        super().__init__(message or kind)
        self.kind = kind


@dataclass(frozen=True)
class Authorization:
    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse(header: str) -> Authorization:
    match = _AUTH.match(header.strip())
    if not match:
        raise Refused("malformed", "The authorization header is malformed")
    parts = match.group("credential").split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise Refused("malformed", "The authorization header is malformed (Credential)")
    return Authorization(
        parts[0],
        parts[1],
        parts[2],
        parts[3],
        tuple(match.group("signed").lower().split(";")),
        match.group("signature").lower(),
    )


def verify(
    auth: Authorization,
    *,
    secret: str,
    method: str,
    raw_path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime | None = None,
) -> None:
    """Raise ``Refused`` unless ``auth`` is the signature of this request with ``secret``."""
    amz_date = headers.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(amz_date, AMZ_DATE).replace(tzinfo=UTC)
    except ValueError as exc:
        raise Refused("malformed", "x-amz-date is missing or malformed") from exc
    if abs((now or datetime.now(UTC)) - signed_at) > MAX_SKEW:
        raise Refused("skewed", "Signature expired: the request time is too skewed from the server's")
    missing = [h for h in auth.signed_headers if h not in headers]
    if missing or "host" not in auth.signed_headers or amz_date[:8] != auth.date:
        raise Refused("mismatch")
    is_s3 = auth.service == "s3"
    if is_s3:
        declared = headers.get("x-amz-content-sha256", "")
        if not declared:
            raise Refused("malformed", "Missing required header for this request: x-amz-content-sha256")
        hashed = declared != "UNSIGNED-PAYLOAD" and not declared.startswith("STREAMING-")
        if hashed and declared != hashlib.sha256(body).hexdigest():
            raise Refused("content_sha", "The provided 'x-amz-content-sha256' header does not match")
    url = f"http://{headers['host']}{raw_path}" + (f"?{query}" if query else "")
    request = AWSRequest(
        method=method, url=url, headers={h: headers[h] for h in auth.signed_headers}, data=body
    )
    request.context["timestamp"] = amz_date
    signer = (S3SigV4Auth if is_s3 else SigV4Auth)(
        Credentials(auth.access_key_id, secret), auth.service, auth.region
    )
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, auth.signature):
        raise Refused("mismatch")
