"""The local AWS endpoint's door: only signed calls from known keys, each allowed by its signer's policies.

WSGI middleware, outermost around moto (and the fault control and S3 gate behind it):

1. Authentication. A header-signed request (``Authorization: AWS4-HMAC-SHA256 ...``) must come from a key
   ``Keys`` knows and carry the right signature (``sigv4.verify``, botocore's signer); an S3 presigned URL is
   checked by the S3 gate's ``check_presigned_url`` with the signer's secret; a browser's POST upload (form
   with a signed policy) and a CORS preflight pass to the S3 gate, which checks them. Anything else is
   refused as AWS refuses it: S3 ``AccessDenied`` / ``InvalidAccessKeyId`` / ``SignatureDoesNotMatch``
   (403, XML); the JSON services ``MissingAuthenticationTokenException`` / ``UnrecognizedClientException``
   / ``InvalidSignatureException`` (400; Lambda 403).
2. ``/moto-api/*`` and ``/_imgflow/*`` need the operator's signature.
3. Authorization: every (action, resource) the request needs (``actions.needs``) must be allowed by the
   signer's policies (``policy.decide``: Deny first); else ``AccessDenied(Exception)`` naming the action,
   resource and principal, as AWS words it. Each allowed and denied call of a role is recorded (``Usage``,
   served at ``/_imgflow/iam``).
4. What IAM changes in S3's answers: a GET or HEAD of a missing key by a principal without ``s3:ListBucket``
   on the bucket is a 403 ``AccessDenied``, not a 404 (with it, the 404 records ``s3:ListBucket`` as used).
"""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote
from xml.sax.saxutils import escape

from imgflow_tools.local import sigv4
from imgflow_tools.local.iam import actions, policy
from imgflow_tools.local.iam.credentials import Keys, Principal
from imgflow_tools.local.iam.roles import StackModel

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
CONTROL_PREFIXES = ("/moto-api", "/_imgflow")
IAM_PATH = "/_imgflow/iam"

_MESSAGES = {
    "missing": "Request is missing Authentication Token",
    "unknown_key": "The security token included in the request is invalid.",
    "mismatch": "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
}
_S3_CODES = {
    "missing": ("AccessDenied", "Access Denied"),
    "unknown_key": (
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
    ),
    "bad_token": ("InvalidToken", "The provided token is malformed or otherwise invalid."),
    "mismatch": ("SignatureDoesNotMatch", _MESSAGES["mismatch"]),
    "content_sha": (
        "XAmzContentSHA256Mismatch",
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    ),
    "skewed": (
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
    ),
    "malformed": ("AuthorizationHeaderMalformed", "The authorization header is malformed."),
}
_JSON_CODES = {
    "missing": "MissingAuthenticationTokenException",
    "unknown_key": "UnrecognizedClientException",
    "bad_token": "UnrecognizedClientException",
    "mismatch": "InvalidSignatureException",
    "content_sha": "InvalidSignatureException",
    "skewed": "InvalidSignatureException",
    "malformed": "IncompleteSignatureException",
}


@dataclass
class Usage:
    """Per principal: the (action, resource) pairs it was allowed, with counts, and those it was denied."""

    allowed: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    denied: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    #: Those of ``denied`` refused while a test had taken a grant away from the principal.
    denied_restricted: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(
        self, principal: str, need: tuple[str, str], allowed: bool, *, restricted: bool = False
    ) -> None:
        books = (
            [self.allowed] if allowed else [self.denied, *([self.denied_restricted] if restricted else [])]
        )
        with self._lock:
            for book in books:
                per = book.setdefault(principal, {})
                per[need] = per.get(need, 0) + 1

    def refused_as_deployed(self) -> dict[str, list[tuple[str, str]]]:
        """The calls a role was refused with its policies as deployed: each is a grant the template lacks."""
        with self._lock:
            return {
                name: sorted(
                    need for need, n in calls.items() if n > self.denied_restricted.get(name, {}).get(need, 0)
                )
                for name, calls in self.denied.items()
                if any(n > self.denied_restricted.get(name, {}).get(need, 0) for need, n in calls.items())
            }

    def report(self, stack: StackModel) -> dict[str, Any]:
        """Per role: used (action, resource, count), denied, and the grants no call used."""
        with self._lock:
            allowed = {k: dict(v) for k, v in self.allowed.items()}
            denied = {k: dict(v) for k, v in self.denied.items()}
        roles: dict[str, Any] = {}
        for name, role in stack.roles.items():
            used = allowed.get(name, {})
            grants = policy.grants(role.policies)
            roles[name] = {
                "role": role.arn,
                "used": [{"action": a, "resource": r, "count": n} for (a, r), n in sorted(used.items())],
                "denied": [
                    {"action": a, "resource": r, "count": n}
                    for (a, r), n in sorted(denied.get(name, {}).items())
                ],
                "unused": [
                    {"action": a, "resource": r, **_reason(role.uncalled, (a, r))}
                    for a, r in grants
                    if not any(policy.covers((a, r), u) for u in used)
                ],
                # A reason for never calling what a call used: the reason is wrong, or the code changed.
                "called_despite_reason": sorted(
                    {f"{a} {r}" for (a, r) in role.uncalled if any(policy.covers((a, r), u) for u in used)}
                ),
            }
        return {"roles": roles}


def _reason(uncalled: dict[tuple[str, str], str], grant: tuple[str, str]) -> dict[str, str]:
    for pattern, reason in uncalled.items():
        if policy.covers(pattern, grant):
            return {"reason": reason}
    return {}


@dataclass
class Stats:
    """Time spent checking (seconds) and requests checked: the per-call overhead of enforcement."""

    checked: int = 0
    seconds: float = 0.0


class IamEnforcer:
    """``LocalCloud(guard=IamEnforcer.wrap(keys, stack))``: see the module docstring."""

    def __init__(self, app: WsgiApp, keys: Keys, stack: StackModel) -> None:
        self.app, self.keys, self.stack = app, keys, stack
        self.usage = Usage()
        self.stats = Stats()

    @classmethod
    def wrap(cls, keys: Keys, stack: StackModel) -> Callable[[WsgiApp], IamEnforcer]:
        return lambda app: cls(app, keys, stack)

    # -- the door -------------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        method = environ["REQUEST_METHOD"]
        path = str(environ.get("PATH_INFO", ""))
        query = str(environ.get("QUERY_STRING", ""))
        headers = {
            k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = str(environ["CONTENT_TYPE"])
        if environ.get("CONTENT_LENGTH"):
            headers["content-length"] = str(environ["CONTENT_LENGTH"])
        control = path.startswith(CONTROL_PREFIXES)
        service = sigv4.service_of(path, headers.get("x-amz-target", ""))
        authorization = headers.get("authorization", "")
        params = dict(parse_qsl(query, keep_blank_values=True))
        try:
            if authorization:
                auth = sigv4.parse(authorization)
                service = auth.service
                principal = self._principal(auth.access_key_id, headers.get("x-amz-security-token"))
                body = _read_body(environ)
                sigv4.verify(
                    auth,
                    secret=principal.secret_access_key,
                    method=method,
                    raw_path=_raw_path(environ),
                    query=query,
                    headers=headers,
                    body=body,
                )
            elif "X-Amz-Credential" in params and not control:
                access_key_id = params["X-Amz-Credential"].split("/", 1)[0]
                principal = self._principal(access_key_id, params.get("X-Amz-Security-Token"))
                from imgflow_tools.local.post_policy import S3Error, check_presigned_url

                try:
                    check_presigned_url(
                        method,
                        unquote(_raw_path(environ)),
                        query,
                        headers,
                        access_key=access_key_id,
                        secret_key=principal.secret_access_key,
                    )
                except S3Error as exc:
                    return _s3_error(start_response, method, exc.status, exc.code, str(exc))
                body = b""
            elif (
                not control
                and service == "s3"
                and (
                    (method == "OPTIONS" and "access-control-request-method" in headers)
                    or (method == "POST" and "multipart/form-data" in headers.get("content-type", ""))
                )
            ):
                return self.app(environ, start_response)  # a preflight or a POST upload: the S3 gate's
            else:
                raise sigv4.Refused("missing")
        except sigv4.Refused as exc:
            # imgflow's and moto's own routes answer JSON, as they do when they accept a call.
            kind = "control" if control else service
            return self._refuse(start_response, kind, method, exc.kind, str(exc))
        if control:
            if principal is not self.keys.operator:
                return self._deny(start_response, service, method, principal, ("imgflow:Control", path))
            if path == IAM_PATH:
                return _json(start_response, 200, self.usage.report(self.stack))
            return self.app(environ, start_response)
        url = f"http://{headers.get('host', '')}{_raw_path(environ)}" + (f"?{query}" if query else "")
        target = _s3_target(environ) if service == "s3" else None
        needs = actions.needs(service, method, url, headers, body, target)
        for need in needs:
            allowed = policy.decide(principal.policies, *need)
            if principal.role is not None:
                self.usage.record(principal.name, need, allowed, restricted=principal.restricted)
            if not allowed:
                self._count(started)
                return self._deny(start_response, service, method, principal, need)
        self._count(started)
        if service == "s3" and method in ("GET", "HEAD") and needs and needs[0][0] == "s3:GetObject":
            listing = ("s3:ListBucket", needs[0][1].split("/", 1)[0])
            return self._missing(environ, start_response, method, principal, listing)
        return self.app(environ, start_response)

    def authorize_upload(self, access_key_id: str, token: str | None, object_arn: str) -> bool:
        """A browser's POST upload: may the signer of its policy ``s3:PutObject`` the key? (recorded)"""
        try:
            principal = self._principal(access_key_id, token)
        except sigv4.Refused:
            return False
        need = ("s3:PutObject", object_arn)
        allowed = policy.decide(principal.policies, *need)
        if principal.role is not None:
            self.usage.record(principal.name, need, allowed, restricted=principal.restricted)
        return allowed

    def _count(self, started: float) -> None:
        self.stats.checked += 1
        self.stats.seconds += time.perf_counter() - started

    def _principal(self, access_key_id: str, token: str | None) -> Principal:
        principal = self.keys.by_key.get(access_key_id)
        if principal is None:
            raise sigv4.Refused("unknown_key")
        if principal.session_token is not None and token != principal.session_token:
            raise sigv4.Refused("bad_token")
        return principal

    # -- answers --------------------------------------------------------------------------------------------
    def _refuse(
        self, start: Callable[..., Any], service: str, method: str, kind: str, message: str
    ) -> Iterable[bytes]:
        if service == "s3":
            code, default = _S3_CODES.get(kind, _S3_CODES["mismatch"])
            return _s3_error(
                start,
                method,
                400 if kind == "malformed" else 403,
                code,
                message if kind in ("malformed", "skewed") else default,
            )
        code = _JSON_CODES.get(kind, "InvalidSignatureException")
        text = _MESSAGES.get(kind, message)
        return _json_error(start, 403 if service in ("lambda", "control") else 400, code, text)

    def _deny(
        self,
        start: Callable[..., Any],
        service: str,
        method: str,
        principal: Principal,
        need: tuple[str, str],
    ) -> Iterable[bytes]:
        action, resource = need
        if service == "s3":
            return _s3_error(start, method, 403, "AccessDenied", "Access Denied")
        message = (
            f"User: {principal.arn} is not authorized to perform: {action} on resource: {resource} "
            f"because no identity-based policy allows the {action} action"
        )
        status = 403 if service in ("lambda", "sqs") else 400
        return _json_error(start, status, "AccessDeniedException", message)

    def _missing(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        method: str,
        principal: Principal,
        listing: tuple[str, str],
    ) -> Iterable[bytes]:
        """A GET or HEAD of a missing key is a 404 only to a principal that may ``s3:ListBucket`` the bucket
        (that permission is then used); to any other, a 403 ``AccessDenied``."""
        captured: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["args"] = (status, headers, exc_info)
            return lambda data: None

        result = self.app(environ, start)
        status, headers, exc_info = captured["args"]
        if status.startswith("404"):
            allowed = policy.decide(principal.policies, *listing)
            if principal.role is not None:
                self.usage.record(principal.name, listing, allowed, restricted=principal.restricted)
            if not allowed:
                close = getattr(result, "close", None)
                if close:
                    close()
                return _s3_error(start_response, method, 403, "AccessDenied", "Access Denied")
        start_response(status, headers, exc_info)
        return result


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated") or "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    if body or length:
        environ["CONTENT_LENGTH"] = str(len(body))
    return bytes(body)


def _raw_path(environ: dict[str, Any]) -> str:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        path = str(raw).split("?", 1)[0]
        if "://" in path:  # an absolute-form request target
            path = "/" + path.split("://", 1)[1].split("/", 1)[-1]
        return path
    from urllib.parse import quote

    return quote(str(environ.get("PATH_INFO", "")).encode("latin-1").decode("utf-8", "replace"), safe="/~")


def _s3_target(environ: dict[str, Any]) -> tuple[str | None, str]:
    from imgflow_tools.local.post_policy import s3_target

    try:
        bucket, key = s3_target(environ)
    except ValueError:
        return None, ""
    return bucket, key


def _s3_error(
    start: Callable[..., Any], method: str, status: int, code: str, message: str
) -> Iterable[bytes]:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
    ).encode()
    start(
        f"{status} {'Forbidden' if status == 403 else 'Bad Request'}",
        [("Content-Type", "application/xml"), ("Content-Length", str(0 if method == "HEAD" else len(body)))],
    )
    return [b""] if method == "HEAD" else [body]


def _json_error(start: Callable[..., Any], status: int, code: str, message: str) -> Iterable[bytes]:
    body = json.dumps({"__type": f"com.amazon.coral.service#{code}", "message": message, "Message": message})
    start(
        f"{status} {'Forbidden' if status == 403 else 'Bad Request'}",
        [
            ("Content-Type", "application/x-amz-json-1.0"),
            ("x-amzn-ErrorType", code),
            ("x-amzn-RequestId", str(uuid.uuid4())),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body.encode()]


def _json(start: Callable[..., Any], status: int, data: Any) -> Iterable[bytes]:
    body = json.dumps(data).encode()
    start(f"{status} OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
