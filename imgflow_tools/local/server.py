"""``imgflow serve``: the whole system on 127.0.0.1, long-running, for browsers, curl, boto3 and the AWS CLI.

Two listeners:

- the API (``--port``): HTTP requests become the API Gateway HTTP API (payload v2) events the Lambda gets
  in AWS, and ``api.handler.lambda_handler`` answers them in-process. Like the HTTP API's JWT authorizer,
  this gateway verifies the bearer token (local HS256 keys, ``imgflow_tools.tokens``) and puts its claims in
  ``requestContext.authorizer.jwt.claims``; ``/openapi.json`` and ``/swagger`` are public.
- the local AWS endpoint (LocalCloud: S3, DynamoDB, Step Functions, EventBridge on moto) behind
  ``S3PolicyGate``, which enforces presigned POST policies and presigned GET expiry as S3 does.

Both are behind ``origin.guard``: only their own ``Host`` names, and only the page's origin (plus those the
user allows) may drive them; CORS answers name the allowed origin, never an echo of the request's.

State lives in a folder (``imgflow_tools.local.state``) and outlives the process, or, ephemeral, as long
as the process.
"""

from __future__ import annotations

import base64
import io
import json
import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from imgflow import config
from imgflow.config import Settings
from imgflow_tools import aws_keys, tokens
from imgflow_tools.local.cloud import ACCOUNT, REGION, LocalCloud
from imgflow_tools.local.iam import credentials
from imgflow_tools.local.moto_adapter import LocalLambdaContext, resolve_handler
from imgflow_tools.local.origin import (
    OriginPolicy,
    WsgiApp,
    aws_refusal,
    configured_origins,
    guard,
    json_refusal,
    page_origins,
)
from imgflow_tools.local.post_policy import S3PolicyGate
from imgflow_tools.local.site import Site, find_dist, page_config
from imgflow_tools.local.state import Restored, StateStore

API_HANDLER = "api.handler.lambda_handler"
API_FUNCTION = "imgflow-api"
#: Routes without the authorizer (CDK: no JWT authorizer on these either).
PUBLIC_PATHS = frozenset({"/openapi.json", "/swagger"})
#: API Gateway HTTP APIs refuse larger payloads.
MAX_PAYLOAD = 10 * 1024 * 1024
#: How much of a too large chunked body is read and dropped so that the client sees the 413 (then: reset).
DRAIN_LIMIT = 64 * 1024 * 1024
_TEXT_TYPES = ("application/json", "text/", "application/xml", "application/x-www-form-urlencoded")


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers)


def to_event(request: Request, claims: dict[str, Any] | None) -> dict[str, Any]:
    """The API Gateway HTTP API payload v2 event for ``request`` (what the Lambda gets in AWS)."""
    now = datetime.now(UTC)
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    raw_body = request.get_data(cache=False)
    content_type = request.content_type or ""
    body: str | None = None
    is_base64 = False
    if raw_body:
        try:
            if not content_type or content_type.startswith(_TEXT_TYPES):
                body = raw_body.decode("utf-8")
            else:
                raise UnicodeDecodeError("utf-8", b"", 0, 1, "binary content type")
        except UnicodeDecodeError:
            body, is_base64 = base64.b64encode(raw_body).decode(), True
    query = {k: ",".join(request.args.getlist(k)) for k in request.args}
    context: dict[str, Any] = {
        "accountId": ACCOUNT,
        "apiId": "local",
        "domainName": request.host,
        "domainPrefix": request.host.split(".")[0],
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "sourceIp": request.remote_addr or "127.0.0.1",
            "userAgent": request.headers.get("User-Agent", ""),
        },
        "requestId": uuid.uuid4().hex,
        "routeKey": "$default",
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if claims is not None:
        # The HTTP API hands claims over as strings.
        context["authorizer"] = {
            "jwt": {"claims": {k: v if isinstance(v, str) else json.dumps(v) for k, v in claims.items()}}
        }
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.path,
        "rawQueryString": request.query_string.decode("latin-1"),
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": is_base64,
    }
    if request.cookies:
        event["cookies"] = [f"{k}={v}" for k, v in request.cookies.items()]
    if query:
        event["queryStringParameters"] = query
    if body is not None:
        event["body"] = body
    return event


def from_result(result: dict[str, Any]) -> Response:
    """The HTTP response for a payload v2 Lambda result."""
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    response = Response(data, status=int(result.get("statusCode", 200)))
    response.headers.pop("Content-Type", None)
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(name, str(value))
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    return response


def _bounded_body(environ: dict[str, Any]) -> bool:
    """Read a chunked body (no Content-Length) into memory as a Content-Length body; False if it is larger
    than ``MAX_PAYLOAD`` (the rest is read and dropped, up to ``DRAIN_LIMIT``)."""
    if environ.get("CONTENT_LENGTH") or not environ.get("wsgi.input_terminated"):
        return True
    stream = environ["wsgi.input"]
    chunks: list[bytes] = []
    size = 0
    while chunk := stream.read(64 * 1024):
        size += len(chunk)
        if size > MAX_PAYLOAD:
            while size < DRAIN_LIMIT and (chunk := stream.read(1024 * 1024)):
                size += len(chunk)
            return False
        chunks.append(chunk)
    body = b"".join(chunks)
    environ.update(
        {"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)), "wsgi.input_terminated": False}
    )
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    return True


class JsonErrorRequestHandler(WSGIRequestHandler):
    """The listener's own errors (414 URI too long, 431, a malformed request line) as JSON, like the rest."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        try:
            short = self.responses[code][0]
        except KeyError:
            short = "Error"
        self.log_error("code %d, message %s", code, message or short)
        if code == 414:
            self._drain_head()  # so that the client reads the answer instead of a reset
        body = json.dumps({"message": message or short}).encode()
        self.close_connection = True
        self.send_response(code, short)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if getattr(self, "command", "") != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def _drain_head(self) -> None:
        """Read the rest of a too long request line and its headers (bounded, 2 s at most per read)."""
        try:
            self.connection.settimeout(2)
            self.rfile.readline(1 << 20)
            for _ in range(200):
                if self.rfile.readline(1 << 16) in (b"\r\n", b"\n", b""):
                    break
        except OSError:
            pass


class ApiGateway:
    """WSGI app: what the HTTP API (JWT authorizer, CORS, payload limit) does in front of the Lambda.

    CORS answers only ``origins`` (the API's CORS configuration; ``imgflow serve``: the page's origin and
    those the user allows): ``Access-Control-Allow-Origin`` is the allow-list's entry, never an echo.
    """

    def __init__(
        self,
        key: bytes,
        handler: str = API_HANDLER,
        site: Site | None = None,
        origins: frozenset[str] = frozenset(),
    ) -> None:
        self.key = key
        self.handler: Callable[[dict[str, Any], Any], dict[str, Any]] = resolve_handler(handler)
        self.site = site
        self.cors = OriginPolicy(origins)
        # One Lambda instance: Powertools' resolver keeps the current event in module state (current_event)
        # and builds its OpenAPI model lazily, neither safe across threads; in AWS an instance also takes one
        # event at a time. Without this, a browser's parallel requests could read each other's claims.
        self._instance = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        too_large = not _bounded_body(environ)
        request = Request(environ)
        allowed = self.cors.allowed_origin(environ)
        if too_large or (request.content_length or 0) > MAX_PAYLOAD:
            response = _json(413, {"message": "Request Entity Too Large"})
        else:
            response = self.respond(request, allowed)
        if allowed:
            response.headers["Access-Control-Allow-Origin"] = allowed
        response.vary.add("Origin")
        return response(environ, start_response)

    def respond(self, request: Request, allowed_origin: str | None = None) -> Response:
        if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
            if not allowed_origin:
                return _json(403, {"message": "Forbidden: requests from this origin are not allowed"})
            return Response(
                status=204,
                headers={
                    "Access-Control-Allow-Methods": "GET, HEAD, POST, PATCH, DELETE, OPTIONS",
                    "Access-Control-Allow-Headers": "Authorization, Content-Type",
                    "Access-Control-Max-Age": "600",
                },
            )
        if self.site and (page := self.site.respond(request)):
            return page  # the web page (public files, like the CloudFront distribution in AWS)
        claims = None
        if request.path not in PUBLIC_PATHS:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            try:
                if scheme.lower() != "bearer" or not token:
                    raise tokens.InvalidToken("no bearer token")
                claims = tokens.verify(token.strip(), key=self.key)
            except tokens.InvalidToken:
                return _json(401, {"message": "Unauthorized"}, {"WWW-Authenticate": "Bearer"})
        event = to_event(request, claims)
        context = LocalLambdaContext(
            function_name="imgflow-api",
            memory_limit_in_mb=512,
            invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:imgflow-api",
            timeout_s=29,
        )
        try:
            with self._instance, credentials.acting_as(API_FUNCTION):  # signs as the API's role
                result = self.handler(event, context)
            return from_result(result)
        except Exception:  # the Lambda crashed: API Gateway answers 500 without details
            return _json(500, {"message": "Internal Server Error"})


def _not_ready(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "application/json")])
    return [b'{"message": "starting"}']


def aws_middleware(origins: frozenset[str]) -> Callable[[WsgiApp], WsgiApp]:
    """The local AWS endpoint's front: the origin guard (bucket subdomains allowed), then the S3 gate."""
    policy = OriginPolicy(origins, bucket_subdomains=True)
    return lambda app: guard(S3PolicyGate(app, origins=origins), policy, aws_refusal)


@dataclass
class LocalServer:
    """``with LocalServer(port=8000) as server: ...``: the API on ``server.api_url``, AWS on ``endpoint``."""

    port: int = 0
    s3_port: int = 0
    settings: Settings = field(default_factory=Settings)
    key: bytes = b""
    cloud: LocalCloud | None = None
    api_url: str = ""
    site: Site | None = None
    #: Origins allowed besides the page's own (``--allow-origin``, ``IMGFLOW_ALLOWED_ORIGINS``).
    allow_origins: tuple[str, ...] = ()
    #: Every origin both listeners answer (the page's and ``allow_origins``), set by ``start``.
    origins: frozenset[str] = frozenset()
    #: Where the state persists; None: ephemeral.
    state: StateStore | None = None
    _server: BaseWSGIServer | None = None

    @property
    def endpoint(self) -> str:
        return self.cloud.endpoint if self.cloud else ""

    def start(self) -> LocalServer:
        self.key = self.key or tokens.local_key()
        if self.state is not None:  # cursors handed out before a restart stay valid
            if not (cursor_key := self.state.get("cursor_key")):
                self.state.put("cursor_key", cursor_key := secrets.token_hex(32))
            os.environ["IMGFLOW_CURSOR_KEY"] = cursor_key
        extra = configured_origins(self.allow_origins)  # ValueError before anything starts
        try:
            return self._start(extra)
        except BaseException:
            self.stop()
            raise

    def _start(self, extra: frozenset[str]) -> LocalServer:
        # The API's port first: the page's origin is what both listeners allow.
        self._server = make_server(
            "127.0.0.1", self.port, _not_ready, threaded=True, request_handler=JsonErrorRequestHandler
        )
        self.port = self._server.server_port
        self.api_url = f"http://127.0.0.1:{self.port}"
        self.origins = page_origins(self.port) | extra
        self.cloud = LocalCloud(
            settings=self.settings,
            port=self.s3_port,
            middleware=aws_middleware(self.origins),
            state=self.state,
        ).start()
        limits = self.settings.limits
        os.environ.update(
            IMGFLOW_INGEST_STATE_MACHINE_ARN=self.cloud.ingest_arn,
            IMGFLOW_MAX_BYTES=str(limits.max_bytes),
            IMGFLOW_MAX_PIXELS=str(limits.max_pixels),
        )
        os.environ.setdefault("IMGFLOW_CURSOR_KEY", secrets.token_hex(32))
        config.settings.cache_clear()
        dist = find_dist()
        self.site = (
            Site(dist, page_config(self.settings), self.cloud.endpoint, key=self.key) if dist else None
        )
        api = ApiGateway(self.key, site=self.site, origins=self.origins)
        self._server.app = guard(api, OriginPolicy(self.origins, navigations=True), json_refusal)
        threading.Thread(target=self._server.serve_forever, name="imgflow-api", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self.cloud:
            self.cloud.stop()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def token(self, user: str, ttl_s: int = tokens.DEFAULT_TTL_S) -> str:
        return tokens.issue(user, key=self.key, ttl_s=ttl_s)


def serve(
    *,
    port: int,
    s3_port: int,
    user: str,
    as_json: bool,
    repair_every_s: float = 0,
    allow_origins: tuple[str, ...] = (),
    state: StateStore | None = None,
) -> int:
    """Run until interrupted; prints where everything listens and a token for ``user``. Every
    ``repair_every_s`` seconds (0: never) reprocesses stuck and failed images, as the AWS schedule does.
    With ``state``, the stack is restored from it and kept in it (None: ephemeral)."""

    server = LocalServer(
        port=port,
        s3_port=s3_port,
        settings=Settings.from_env(),
        allow_origins=allow_origins,
        state=state,
    )
    with server:
        restored = server.cloud.restored if server.cloud else None
        token = server.token(user)
        info: dict[str, Any] = {
            # A one-time code, exchanged by the page for a token: the link in the history is then worthless.
            "web": server.site.link(server.api_url, user) if server.site else "",
            "api": server.api_url,
            "openapi": f"{server.api_url}/openapi.json",
            "swagger": f"{server.api_url}/swagger",
            "endpoint": server.endpoint,
            "user": user,
            "token": token,
            "state_machine_arn": server.cloud.ingest_arn if server.cloud else "",
            "key_file": str(tokens.state_dir() / tokens.KEY_FILE),
            # Operator credentials of the endpoint (signed calls only) and the role each function runs under.
            "aws": aws_keys.operator_credentials(),
            "roles": server.cloud.iam.role_arns() if server.cloud and server.cloud.iam else {},
            "repair_every_s": repair_every_s,
            "origins": sorted(server.origins),
            "state": str(state.directory) if state else None,
            "restored": _restored_info(restored),
        }
        if as_json:
            print(json.dumps(info), flush=True)
        else:
            print(
                f"imgflow serve: local stack up\n"
                f"  Web page       {info['web']}\n"
                f"                 (works once: it signs you in as {user!r}; more: POST /sign-in/links)\n"
                f"  API            {info['api']}  (Swagger UI: {info['swagger']}, spec: {info['openapi']})\n"
                f"  AWS endpoint   {info['endpoint']}  (S3, DynamoDB, Step Functions; "
                f"aws --endpoint-url {info['endpoint']}, region {REGION})\n"
                f"  AWS keys       AWS_ACCESS_KEY_ID={info['aws']['access_key_id']} "
                f"AWS_SECRET_ACCESS_KEY={info['aws']['secret_access_key']}\n"
                f"  Origins        {', '.join(sorted(server.origins))} (only these pages may call both)\n"
                f"  token for {user!r} (more: imgflow token NAME):\n{info['token']}\n"
                f"{_state_line(state, restored)}\n"
                "Ctrl-C stops it.",
                flush=True,
            )
        repair = _schedule(server.endpoint, repair_every_s, state, restored).start()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            repair.stop()
    return 0


def _restored_info(restored: Restored | None) -> dict[str, Any] | None:
    if restored is None:
        return None
    return {
        "objects": restored.objects,
        "items": restored.items,
        "executions": restored.executions,
        "aborted": restored.aborted,
        "seconds": round(restored.seconds, 3),
    }


def _state_line(state: StateStore | None, restored: Restored | None) -> str:
    if state is None or restored is None:
        return "Ephemeral: all state goes with the process."
    if restored.new:
        return f"State: {state.directory} (new; kept across restarts)"
    line = (
        f"State: {state.directory} ({restored.items} records, {restored.objects} objects, "
        f"{restored.executions} runs restored in {restored.seconds:.1f} s)"
    )
    if restored.aborted:
        line += f"; {restored.aborted} runs in flight at the last stop are ABORTED and their images repaired"
    return line


def _schedule(endpoint: str, period_s: float, state: StateStore | None, restored: Restored | None) -> Any:
    """The repair timer, continuing the previous process's period; after a crash or a stop with runs in
    flight it first runs the stuck mode on what the previous process left (``older_than_s``: its last
    flush)."""
    from imgflow_tools.local.schedule import RepairSchedule

    if state is None or restored is None:
        return RepairSchedule(endpoint, period_s)
    last = state.get("repair.last_run")
    schedule = RepairSchedule(
        endpoint,
        period_s,
        last_run=float(last) if last else None,
        on_run=lambda at: state.put("repair.last_run", repr(at)),
    )
    if restored.aborted or not restored.clean:
        since = max(0, int(time.time() - restored.last_flush)) if restored.last_flush else 0
        schedule.run_soon(("stuck",), older_than_s=since)
    return schedule
