"""What S3 checks and moto does not, as WSGI middleware in front of the local S3 endpoint.

- Browser-style POST uploads: every POST that S3 would take as "POST Object" (to a bucket, in any addressing
  style: ``/<bucket>``, ``/<bucket>/``, ``Host: <bucket>.localhost`` with ``/``, ...), signed in a header or
  not, must be ``multipart/form-data`` and carry a policy: its SigV4 signature, expiry, every condition (eq,
  starts-with, content-length-range) and no form field outside the policy. Where the request goes is decided
  with moto's own routing functions. Field names are compared as S3 compares them, without case: a name
  given twice (``key`` and ``Key``), a second file part, a file part not named ``file`` or a field after the
  file is refused. The body is parsed once; moto gets the form the gate checked, re-serialized (the checked
  fields, lower-cased, then the checked bytes as the one ``file`` part), and as a second line
  ``moto_adapter.guard_s3_post_object`` makes moto refuse a POST Object unless its bucket, key and bytes are
  the ones checked.
- A form POST to an object path is S3's ``MethodNotAllowed`` (moto answered a 500).
- Presigned URLs (``X-Amz-Signature`` in the query): SigV4 query signature and ``X-Amz-Expires``.
- Anonymous requests (no ``Authorization`` header, no presigned query, not a POST Object) are refused with
  ``AccessDenied``, as S3 refuses them on a private bucket (moto served and stored them).
- CORS: a page on an allowed origin (``origins``: ``imgflow serve``'s page and those the user allows) may
  POST to the endpoint and read the response; its preflights are answered as S3 answers them for a rule
  allowing those origins, every method and header. Others get no CORS headers (``origin.guard``, in front,
  refuses them outright).

Refusals are S3's: status, error code and XML body. Requests signed in headers (boto3, the AWS CLI) pass
through to moto, which does not verify header signatures (neither does this gate: local credentials are
``testing``/``testing`` and public). ``/moto-api`` (moto's own admin API) and ``/_imgflow/`` (imgflow's
control routes) pass through.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import json
import posixpath
import re
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, quote, unquote
from xml.sax.saxutils import escape

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder
from werkzeug.wrappers import Request

from imgflow_tools.local import sigv4
from imgflow_tools.local.moto_adapter import GATE_CHECKED, CheckedPost, guard_s3_post_object
from imgflow_tools.local.origin import OriginPolicy

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
AMZ_DATE = "%Y%m%dT%H%M%SZ"
MAX_EXPIRES = 604800
#: Largest POST body read at all (a policy's content-length-range decides below that).
MAX_POST_BODY = 512 * 1024 * 1024
#: Form fields exempt from the "every field is in the policy" rule.
EXEMPT_FIELDS = {"x-amz-signature", "file", "policy"}
#: Largest form (fields before the file) S3 reads: more is MaxPostPreDataLengthExceeded.
MAX_FORM_PARTS = 200
#: Query parameters of the S3 operations that POST to an object (multipart uploads, restore, select).
OBJECT_POST_OPERATIONS = frozenset({"uploads", "uploadId", "restore", "select"})
_SIGV4_CREDENTIAL = re.compile(
    r"AWS4-HMAC-SHA256 +Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request"
)
_QUERY_ERROR = "AuthorizationQueryParametersError"
CORS_EXPOSE = "ETag, Location, x-amz-request-id, x-amz-version-id, x-amz-id-2"
CORS_METHODS = "GET, HEAD, PUT, POST, DELETE"
CORS_MAX_AGE = "3000"


class S3Error(Exception):
    """A refusal, rendered as S3 renders it."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def xml(self) -> bytes:
        parts = [f"<Code>{self.code}</Code>", f"<Message>{escape(self.message)}</Message>"]
        parts += [f"<{k}>{escape(str(v))}</{k}>" for k, v in self.extra.items()]
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
            + "".join(parts)
            + "<RequestId>local</RequestId></Error>"
        ).encode()


def _policy_failed(message: str) -> S3Error:
    return S3Error(403, "AccessDenied", f"Invalid according to Policy: {message}")


def _condition_failed(condition: Any) -> S3Error:
    return _policy_failed(f"Policy Condition failed: {json.dumps(condition)}")


def _sigv2() -> S3Error:
    return S3Error(
        400,
        "InvalidRequest",
        "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
    )


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _parse_credential(credential: str, access_key: str) -> tuple[str, str, str]:
    """(date, region, service) of ``AKID/date/region/service/aws4_request``."""
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise S3Error(400, _QUERY_ERROR, "Error parsing the X-Amz-Credential parameter")
    if parts[0] != access_key:
        raise S3Error(
            403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
        )
    return parts[1], parts[2], parts[3]


def _parse_amz_date(value: str) -> datetime:
    try:
        return datetime.strptime(value, AMZ_DATE).replace(tzinfo=UTC)
    except ValueError as exc:
        raise S3Error(400, _QUERY_ERROR, "X-Amz-Date must be in the ISO8601 format") from exc


def _signature_mismatch() -> S3Error:
    return S3Error(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    )


def _length_bound(value: Any, condition: Any) -> int:
    """A content-length-range bound: a non-negative integer (or its decimal text, as S3 accepts)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise S3Error(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid Condition: {condition}")
    text = str(value).strip()
    if not text.isdigit() or len(text) > 20:
        raise S3Error(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid Condition: {condition}")
    return int(text)


def check_post_policy(
    fields: dict[str, str],
    file_size: int,
    *,
    bucket: str,
    access_key: str,
    secret_key: str,
    now: datetime | None = None,
) -> None:
    """Raise ``S3Error`` unless the form (lower-cased field names) is an upload its signed policy allows."""
    now = now or datetime.now(UTC)
    policy_b64 = fields.get("policy")
    if policy_b64 is None:
        raise S3Error(403, "AccessDenied", "Access Denied")
    if fields.get("x-amz-algorithm") != "AWS4-HMAC-SHA256" or not fields.get("x-amz-signature"):
        raise _sigv2()
    date, region, service = _parse_credential(fields.get("x-amz-credential", ""), access_key)
    expected = hmac.new(
        _signing_key(secret_key, date, region, service), policy_b64.encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, fields["x-amz-signature"].lower()):
        raise _signature_mismatch()
    try:
        policy = json.loads(base64.b64decode(policy_b64, validate=True))
        expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
        conditions = policy.get("conditions", [])
        if not isinstance(conditions, list):
            raise TypeError("conditions is not a list")
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise S3Error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from exc
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=UTC)
    if now > expiration:
        raise _policy_failed("Policy expired.")
    values = {**fields, "bucket": bucket}
    covered: set[str] = set()
    for condition in conditions:
        if isinstance(condition, dict):
            for name, value in condition.items():
                if not isinstance(value, str):
                    raise S3Error(
                        400, "InvalidPolicyDocument", f"Invalid Policy: Invalid Condition: {condition}"
                    )
                covered.add(name.lower())
                if values.get(name.lower()) != value:
                    raise _condition_failed({name: value})
            continue
        if not isinstance(condition, list) or len(condition) != 3:
            raise S3Error(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid Condition: {condition}")
        op = str(condition[0]).lower()
        if op == "content-length-range":
            low, high = _length_bound(condition[1], condition), _length_bound(condition[2], condition)
            if file_size < low:
                raise S3Error(
                    400,
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed size",
                    ProposedSize=file_size,
                    MinSizeAllowed=low,
                )
            if file_size > high:
                raise S3Error(
                    400,
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed size",
                    ProposedSize=file_size,
                    MaxSizeAllowed=high,
                )
            continue
        if not isinstance(condition[1], str) or not isinstance(condition[2], str):
            raise S3Error(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid Condition: {condition}")
        name = condition[1].lstrip("$").lower()
        covered.add(name)
        actual = values.get(name)
        if op == "eq" and actual != condition[2]:
            raise _condition_failed(condition)
        if op == "starts-with" and (actual is None or not actual.startswith(str(condition[2]))):
            raise _condition_failed(condition)
        if op not in ("eq", "starts-with"):
            raise S3Error(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid Condition: {condition}")
    extra = sorted(
        name for name in fields if name not in covered | EXEMPT_FIELDS and not name.startswith("x-ignore-")
    )
    if extra:
        raise _policy_failed(f"Extra input fields: {', '.join(extra)}")


def check_presigned_url(
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    *,
    access_key: str,
    secret_key: str,
    now: datetime | None = None,
) -> None:
    """Raise ``S3Error`` unless the SigV4 query signature is right and the URL has not expired.

    ``path`` is the decoded path, ``query`` the raw query string, ``headers`` lower-cased names.
    """
    now = now or datetime.now(UTC)
    params = dict(parse_qsl(query, keep_blank_values=True))
    required = (
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Signature",
        "X-Amz-Date",
        "X-Amz-SignedHeaders",
        "X-Amz-Expires",
    )
    if any(name not in params for name in required) or params["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
        raise S3Error(
            400,
            _QUERY_ERROR,
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
            "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
        )
    date, region, service = _parse_credential(params["X-Amz-Credential"], access_key)
    signed_at = _parse_amz_date(params["X-Amz-Date"])
    try:
        expires = int(params["X-Amz-Expires"])
    except ValueError as exc:
        raise S3Error(400, _QUERY_ERROR, "X-Amz-Expires should be a number") from exc
    if not 0 < expires <= MAX_EXPIRES:
        raise S3Error(
            400,
            _QUERY_ERROR,
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        )
    # The signature first: an edited expiry must read as tampering, not as "expired".
    signed_headers = params["X-Amz-SignedHeaders"].split(";")
    pairs = sorted(
        (quote(k, safe="-_.~"), quote(v, safe="-_.~"))
        for k, v in parse_qsl(query, keep_blank_values=True)
        if k != "X-Amz-Signature"
    )
    canonical_query = "&".join(f"{k}={v}" for k, v in pairs)
    host = headers.get("host", "")
    request = AWSRequest(
        method=method,
        url=f"http://{host}{quote(path, safe='/~')}?{canonical_query}",
        headers={name: headers.get(name, "") for name in signed_headers},
    )
    request.context["timestamp"] = params["X-Amz-Date"]
    auth = S3SigV4QueryAuth(Credentials(access_key, secret_key), service, region, expires=expires)
    if date != params["X-Amz-Date"][:8]:
        raise _signature_mismatch()
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    if not hmac.compare_digest(expected, params["X-Amz-Signature"].lower()):
        raise _signature_mismatch()
    if now > signed_at + timedelta(seconds=expires):
        raise S3Error(
            403,
            "AccessDenied",
            "Request has expired",
            **{
                "X-Amz-Expires": expires,
                "Expires": (signed_at + timedelta(seconds=expires)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )
    if signed_at > now + timedelta(minutes=15):
        raise S3Error(403, "AccessDenied", "Request is not valid yet")


def _raw_path(environ: dict[str, Any]) -> str:
    """The request path, percent-decoded, as S3 sees the object key."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return unquote(raw.split("?", 1)[0])
    return str(environ.get("PATH_INFO", "")).encode("latin-1").decode("utf-8", "replace")


def _error_response(exc: S3Error, start: Callable[..., Any], method: str) -> Iterable[bytes]:
    body = exc.xml()
    headers = [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
    if exc.status == 405:
        headers.append(("Allow", "GET, HEAD, PUT, DELETE"))
    start(f"{exc.status} {HTTPStatus(exc.status).phrase}", headers)
    return [b""] if method == "HEAD" else [body]


def _access_denied() -> S3Error:
    return S3Error(403, "AccessDenied", "Access Denied")


def s3_target(environ: dict[str, Any]) -> tuple[str | None, str]:
    """(bucket, key) of an S3 request as moto routes it (virtual-host or path style); "" is the bucket."""
    from moto.s3.responses import S3Response, parse_key_name
    from moto.s3.utils import bucket_name_from_url
    from moto.s3bucket_path.utils import bucket_name_from_url as path_bucket
    from moto.s3bucket_path.utils import parse_key_name as path_key

    request = Request(environ)
    path = request.path
    if S3Response.subdomain_based_buckets(request):
        return bucket_name_from_url(request.url), parse_key_name(path)
    return path_bucket(request.url), path_key(path)


def signing_service(authorization: str) -> str:
    """The service a SigV4 ``Authorization`` header is scoped to (moto routes by it); S3Error if malformed."""
    if authorization.startswith("AWS "):
        raise _sigv2()
    match = _SIGV4_CREDENTIAL.match(authorization.strip())
    if not match:
        raise S3Error(
            400,
            "AuthorizationHeaderMalformed",
            "The authorization header is malformed; a non-empty Access "
            "Key (AKID) must be provided in the credential.",
        )
    return match.group(4).lower()


def _is_form(environ: dict[str, Any]) -> bool:
    mimetype, _ = parse_options_header(str(environ.get("CONTENT_TYPE", "")).strip())
    return mimetype in ("multipart/form-data", "application/x-www-form-urlencoded")


def _malformed() -> S3Error:
    return S3Error(
        400, "MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data."
    )


def _invalid_argument(message: str, name: str, value: str = "") -> S3Error:
    return S3Error(400, "InvalidArgument", message, ArgumentName=name, ArgumentValue=value)


#: A form field name the re-serialized form can carry verbatim (a policy names nothing else).
_FIELD_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


class PostForm:
    """A POST Object form, parsed once: its fields (lower-cased names, in order) and its one file."""

    def __init__(self, fields: dict[str, str], data: bytes, filename: str | None) -> None:
        self.fields, self.data, self.filename = fields, data, filename

    @classmethod
    def parse(cls, body: bytes, boundary: str) -> PostForm:
        """S3's reading of the form; S3Error for what S3 refuses and for what it would read otherwise than
        moto: a name twice (in any case), not exactly one ``file``, a file part by another name, a field
        after the file."""
        decoder = MultipartDecoder(boundary.encode("latin-1"), max_parts=MAX_FORM_PARTS)
        parts: list[tuple[str, str | None, bytes]] = []
        current: Field | File | None = None
        chunks: list[bytes] = []
        try:
            decoder.receive_data(body)
            decoder.receive_data(None)
            while not isinstance(event := decoder.next_event(), Epilogue):
                if isinstance(event, Field | File):
                    current, chunks = event, []
                elif isinstance(event, Data) and current is not None:
                    chunks.append(event.data)
                    if not event.more_data:
                        filename = current.filename if isinstance(current, File) else None
                        parts.append((current.name or "", filename, b"".join(chunks)))
                        current = None
        except HTTPException as exc:  # more parts than S3 reads before the file
            raise S3Error(
                400,
                "MaxPostPreDataLengthExceeded",
                "Your POST request fields preceeding the upload file was too large.",
            ) from exc
        except ValueError as exc:
            raise _malformed() from exc
        if current is not None:
            raise _malformed()
        files = [i for i, (name, _, _) in enumerate(parts) if name.lower() == "file"]
        if len(files) != 1:
            raise S3Error(
                400,
                "IncorrectNumberOfFilesInPostRequest",
                "POST requires exactly one file upload per request.",
            )
        (index,) = files
        fields: dict[str, str] = {}
        for position, (name, filename, data) in enumerate(parts):
            lower = name.lower()
            if position > index:
                raise _invalid_argument(
                    "The file or text content must be the last field in the form.", name, "after file"
                )
            if filename is not None and lower != "file":
                raise S3Error(
                    400,
                    "IncorrectNumberOfFilesInPostRequest",
                    "POST requires exactly one file upload per request.",
                )
            if lower == "file":
                continue
            if not _FIELD_NAME.match(name):
                raise _malformed()
            if lower in fields:
                raise _invalid_argument(f"Bucket POST can contain only one field named '{lower}'.", name)
            fields[lower] = data.decode("utf-8", "replace")
        _, filename, data = parts[index]
        return cls(fields, data, filename)

    @property
    def key(self) -> str:
        """The object key, ``${filename}`` replaced by the file's name as moto and S3 do."""
        key = self.fields.get("key", "")
        if self.filename is not None:
            key = key.replace("${filename}", posixpath.basename(self.filename))
        return key

    def serialize(self) -> tuple[str, bytes]:
        """(Content-Type, body) of this form as moto is to read it: the fields (with the key resolved), then
        the bytes as the one ``file`` part (named ``${filename}``, so moto's own substitution changes
        nothing)."""
        values = {**self.fields, "key": self.key} if "key" in self.fields else dict(self.fields)
        while True:
            boundary = secrets.token_hex(24)
            marker = boundary.encode()
            encoded = {name: value.encode() for name, value in values.items()}
            if marker not in self.data and not any(marker in v for v in encoded.values()):
                break
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value
            + b"\r\n"
            for name, value in encoded.items()
        ]
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="${{filename}}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + self.data
            + b"\r\n"
        )
        return f"multipart/form-data; boundary={boundary}", b"".join(parts) + f"--{boundary}--\r\n".encode()


#: The secrets of the keys the local IAM of this process knows (set by ``imgflow_tools.local.iam``).
default_secret_for: Callable[[str], str | None] | None = None
#: Whether the policy's signer may ``s3:PutObject`` the key (access key id, session token, object ARN), as
#: the local IAM of this process decides it (set by ``imgflow_tools.local.iam``); None: no IAM.
default_authorize: Callable[[str, str | None, str], bool] | None = None


class S3PolicyGate:
    """WSGI middleware: ``LocalCloud(middleware=S3PolicyGate.wrap())``."""

    def __init__(
        self,
        app: WsgiApp,
        *,
        access_key: str = "testing",
        secret_key: str = "testing",
        origins: frozenset[str] = frozenset(),
        secret_for: Callable[[str], str | None] | None = None,
    ) -> None:
        self.app, self.access_key, self.secret_key = app, access_key, secret_key
        self.cors = OriginPolicy(origins)
        #: Access key id -> secret: any key the local IAM knows may sign (its role sessions); by default
        #: the keys of the local stack running in this process, else ``access_key``/``secret_key``.
        self.secret_for = secret_for
        guard_s3_post_object()

    def _keys(self, credential: str) -> tuple[str, str]:
        """The key pair to check a signature whose credential scope is ``credential`` against."""
        lookup = self.secret_for or default_secret_for
        if lookup is None:
            return self.access_key, self.secret_key
        access_key = credential.split("/", 1)[0]
        secret = lookup(access_key)
        # An unknown key is refused as such by _parse_credential (it names no key the gate knows).
        return (access_key if secret is not None else ""), secret or ""

    @classmethod
    def wrap(cls, **options: Any) -> Callable[[WsgiApp], WsgiApp]:
        return lambda app: cls(app, **options)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        origin = environ.get("HTTP_ORIGIN")
        allowed = self.cors.allowed_origin(environ)
        start = self._cors(start_response, allowed) if origin else start_response
        method = environ["REQUEST_METHOD"]
        environ[GATE_CHECKED] = ""  # moto refuses a POST Object unless the check below names it
        try:
            if method == "OPTIONS" and origin and environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"):
                return self._preflight(environ, start_response, allowed)
            if str(environ.get("PATH_INFO", "")).startswith(("/moto-api", "/_imgflow/")):
                return self.app(environ, start)
            self._check(environ, method)
        except S3Error as exc:
            return _error_response(exc, start, method)
        return self.app(environ, start)

    def _check(self, environ: dict[str, Any], method: str) -> None:
        query = environ.get("QUERY_STRING", "")
        params = {name for name, _ in parse_qsl(query, keep_blank_values=True)}
        authorization = environ.get("HTTP_AUTHORIZATION")
        presigned = "X-Amz-Signature" in params
        if "Signature" in params and not presigned:
            raise _sigv2()
        service = signing_service(authorization) if authorization else "s3"
        if presigned:
            headers = {
                k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")
            }
            access_key, secret_key = self._keys(dict(parse_qsl(query)).get("X-Amz-Credential", ""))
            check_presigned_url(
                method, _raw_path(environ), query, headers, access_key=access_key, secret_key=secret_key
            )
        if method == "POST" and service == "s3":
            try:
                bucket, key = s3_target(environ)
            except ValueError as exc:  # e.g. Host: [::1 (urlsplit refuses it)
                raise S3Error(400, "InvalidURI", "Couldn't parse the specified URI.") from exc
            if bucket and not key and "delete" not in params:
                self._check_form(environ, bucket)  # POST Object: its policy is its authorisation
                return
            if bucket and key and (_is_form(environ) or not params & OBJECT_POST_OPERATIONS):
                raise S3Error(
                    405,
                    "MethodNotAllowed",
                    "The specified method is not allowed against this resource.",
                    Method="POST",
                    ResourceType="OBJECT",
                )
        # An unsigned call to another service is the IAM door's to refuse, in that service's protocol.
        other = sigv4.service_of(str(environ.get("PATH_INFO", "")), environ.get("HTTP_X_AMZ_TARGET", ""))
        if not (authorization or presigned) and other == "s3":
            raise _access_denied()

    def _check_form(self, environ: dict[str, Any], bucket: str) -> None:
        """Check the POST upload; hands moto the checked form (``GATE_CHECKED``: what it may store)."""
        mimetype, _ = parse_options_header(str(environ.get("CONTENT_TYPE", "")).strip())
        if mimetype != "multipart/form-data":
            raise S3Error(
                412,
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
                Condition="Bucket POST must be of the enclosure-type multipart/form-data",
            )
        length_header = environ.get("CONTENT_LENGTH")
        if not length_header:
            raise S3Error(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
        try:
            length = int(length_header)
        except ValueError as exc:
            raise S3Error(400, "InvalidArgument", "Content-Length is not a number") from exc
        if length > MAX_POST_BODY:
            raise S3Error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        _, options = parse_options_header(str(environ.get("CONTENT_TYPE", "")).strip())
        if not options.get("boundary"):
            raise _malformed()
        form = PostForm.parse(environ["wsgi.input"].read(length), options["boundary"])
        fields = {**form.fields, "key": form.key} if "key" in form.fields else form.fields
        access_key, secret_key = self._keys(fields.get("x-amz-credential", ""))
        check_post_policy(fields, len(form.data), bucket=bucket, access_key=access_key, secret_key=secret_key)
        # The signed policy only says what the upload may be; the signer's own policies must allow it too.
        authorize = default_authorize
        if authorize and not authorize(
            access_key, fields.get("x-amz-security-token"), f"arn:aws:s3:::{bucket}/{form.key}"
        ):
            raise _access_denied()
        # moto reads the form the gate checked, and stores it only as checked (moto_adapter, 10.).
        content_type, body = form.serialize()
        environ.update(
            {"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": content_type}
        )
        environ[GATE_CHECKED] = CheckedPost(bucket, form.key, form.data)

    @staticmethod
    def _preflight(environ: dict[str, Any], start: Callable[..., Any], origin: str | None) -> Iterable[bytes]:
        """S3's answer to a preflight, for a CORS rule allowing those origins, every method and header."""
        method = str(environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD", "")).strip().upper()
        if origin is None or method not in {m.strip() for m in CORS_METHODS.split(",")}:
            body = S3Error(
                403, "AccessForbidden", "CORSResponse: This CORS request is not allowed.", Method=method
            ).xml()
            start("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
            return [body]
        headers = [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Methods", CORS_METHODS),
            ("Access-Control-Expose-Headers", CORS_EXPOSE),
            ("Access-Control-Max-Age", CORS_MAX_AGE),
            ("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"),
            ("Content-Length", "0"),
        ]
        if requested := str(environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")).strip():
            headers.append(("Access-Control-Allow-Headers", requested))
        start("200 OK", headers)
        return [b""]

    @staticmethod
    def _cors(start_response: Callable[..., Any], origin: str | None) -> Callable[..., Any]:
        """The CORS headers of an actual (non-preflight) response, replacing whatever moto set: the allowed
        origin's, none for another."""

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
            if origin is not None:
                kept += [
                    ("Access-Control-Allow-Origin", origin),
                    ("Access-Control-Expose-Headers", CORS_EXPOSE),
                ]
            kept.append(("Vary", "Origin"))
            return start_response(status, kept, exc_info) if exc_info else start_response(status, kept)

        return start
