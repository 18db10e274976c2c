"""Routes of the imgflow API (Powertools' HTTP API resolver, payload v2): thin glue over ``api.service``.

The owner is the ``sub`` claim the HTTP API's JWT authorizer verified (``requestContext.authorizer.jwt``);
nothing else in the request is trusted for identity.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BeforeValidator

from api import service
from api.models import (
    ErrorBody,
    ImageAccepted,
    ImageDetail,
    ImagePage,
    ImagePatch,
    ImageRuns,
    ImageStatus,
    ImageSummary,
    InlineImage,
    ReprocessAccepted,
    SimilarImages,
    Tag,
    UploadBatch,
    UploadSpec,
    UploadTicket,
    UploadTickets,
    WorkflowGraph,
)
from imgflow import keys
from imgflow.config import settings
from imgflow.errors import TransientError
from imgflow.observability import logger
from imgflow.records import Status

TITLE = "imgflow API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Upload images (presigned POST, or small files inline), follow them through the ingest workflow, "
    "and fetch the original and its renditions through presigned GETs. Every route is scoped to the "
    "caller (the `sub` of the bearer token): another owner's image is a 404."
)
MAX_PAGE = 100
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]

app = APIGatewayHttpResolver(enable_validation=True)


class Unauthorized(service.ApiError):
    status = 401


ERRORS = {
    400: "Bad request (invalid cursor, date range or base64)",
    401: "No valid bearer token",
    404: "No such image of the caller's",
    409: "Conflict with the image's state",
    413: "Too large",
    415: "The body is not JSON",
    422: "Malformed request (the detail says which field)",
    503: "Not configured",
}


def responses(ok: int, description: str, *errors: int) -> dict[int, OpenAPIResponse]:
    """OpenAPI responses: the success (schema from the return type) plus the JSON errors it may answer."""
    success: OpenAPIResponse = {"description": description}
    if ok == 204:
        success["content"] = {}
    out: dict[int, OpenAPIResponse] = {ok: success}
    for code in sorted({401, 415, 422, *errors}):
        out[code] = {"description": ERRORS[code], "content": {"application/json": {"model": ErrorBody}}}
    return out


def owner() -> str:
    """The caller: the verified ``sub`` claim (401 without one)."""
    raw = app.current_event.raw_event.get("requestContext") or {}
    claims = ((raw.get("authorizer") or {}).get("jwt") or {}).get("claims") or {}
    sub = claims.get("sub")
    if not isinstance(sub, str) or not keys.is_valid_segment(sub):
        raise Unauthorized("no verified identity in the request")
    return sub


ImageId = Annotated[str, Path(description="Image id", pattern=r"^[A-Za-z0-9_-]{1,128}$")]


def _iso_datetime(value: Any) -> Any:
    """Only ISO 8601 text (pydantic would also take a number of seconds since 1970)."""
    if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        raise ValueError("expected an ISO 8601 date-time, e.g. 2024-05-01T12:00:00Z")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]


# -- routes --------------------------------------------------------------------------------------------
@app.post(
    "/uploads",
    status_code=201,
    summary="Start uploads: an id and a presigned POST per file",
    description="One file (`{filename, content_type, size}`) or several (`{files: [...]}`). Each image is "
    "listed as PENDING until the workflow records it.",
    responses=responses(201, "An upload ticket (or one per file)", 413),
    security=SECURITY,
    tags=["uploads"],
)
def create_uploads(request: Annotated[UploadSpec | UploadBatch, Body()]) -> UploadTicket | UploadTickets:
    who = owner()
    if isinstance(request, UploadBatch):
        return UploadTickets(uploads=service.create_uploads(who, request.files, settings()))
    return service.create_uploads(who, [request], settings())[0]


@app.post(
    "/images",
    status_code=202,
    summary="Upload a small image inline (base64)",
    description=f"Up to {service.INLINE_MAX_BYTES} bytes; larger files get a 413: use POST /uploads.",
    responses=responses(202, "Accepted: the workflow runs", 400, 413),
    security=SECURITY,
    tags=["images"],
)
def put_image(request: Annotated[InlineImage, Body()]) -> ImageAccepted:
    return service.put_inline(owner(), request, settings())


@app.get(
    "/images",
    summary="The caller's images, newest first",
    responses=responses(200, "A page of images", 400),
    security=SECURITY,
    tags=["images"],
)
def list_images(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size")] = 20,
    cursor: Annotated[str | None, Query(max_length=2048, description="next_cursor of the last page")] = None,
    status: Annotated[Status | None, Query(description="Only images in this status")] = None,
    since: Annotated[IsoDateTime | None, Query(description="Created at or after (ISO 8601)")] = None,
    until: Annotated[IsoDateTime | None, Query(description="Created at or before (ISO 8601)")] = None,
    tag: Annotated[Tag | None, Query(description="Only images with this tag")] = None,
) -> ImagePage:
    return service.list_images(
        owner(),
        settings(),
        limit=limit,
        cursor=cursor,
        status=status,
        since=since,
        until=until,
        tag=tag,
        accept=_accept(),
    )


def _accept() -> str | None:
    """The client's Accept header: renditions come in the best format it names (AVIF, WebP, else JPEG)."""
    headers = app.current_event.headers or {}
    return next((v for k, v in headers.items() if k.lower() == "accept"), None)


@app.get(
    "/images/<image_id>",
    summary="An image: record, EXIF, renditions and presigned GETs",
    description=f"URLs expire after `expires` seconds, capped at {service.MAX_GET_EXPIRES_S}. "
    "A call that returns URLs (a PROCESSED image) counts as an access (`access_count`, "
    "`last_accessed_at`); to follow an upload's progress, poll `GET /images/{image_id}/status`, "
    "which never counts.",
    responses=responses(200, "The image", 404),
    security=SECURITY,
    tags=["images"],
)
def get_image(
    image_id: ImageId,
    expires: Annotated[int, Query(ge=1, le=604800, description="URL lifetime in seconds")] = (
        service.DEFAULT_GET_EXPIRES_S
    ),
    download: Annotated[bool, Query(description="Download as an attachment with the file name")] = False,
) -> ImageDetail:
    return service.get_image(
        owner(), image_id, settings(), expires=expires, download=download, accept=_accept()
    )


@app.get(
    "/images/<image_id>/status",
    summary="An image's status, for polling while the workflow runs",
    description="Status, the rejection reason or the error, and when it last changed: one read, no "
    "presigned URLs, never counted as an access (unlike `GET /images/{image_id}`).",
    responses=responses(200, "The image's status", 404),
    security=SECURITY,
    tags=["images"],
)
def get_image_status(image_id: ImageId) -> ImageStatus:
    return service.image_status(owner(), image_id, settings())


@app.patch(
    "/images/<image_id>",
    summary="Set tags and description",
    responses=responses(200, "The updated image", 404),
    security=SECURITY,
    tags=["images"],
)
def patch_image(image_id: ImageId, request: Annotated[ImagePatch, Body()]) -> ImageSummary:
    return service.update_image(owner(), image_id, request, settings())


@app.delete(
    "/images/<image_id>",
    status_code=204,
    summary="Delete the original, every rendition and the record",
    description="A repeated delete finds nothing: 404.",
    responses=responses(204, "Deleted", 404),
    security=SECURITY,
    tags=["images"],
)
def delete_image(image_id: ImageId) -> Response[None]:
    service.delete_image(owner(), image_id, settings())
    return Response(status_code=204, content_type=None, body="")  # type: ignore[arg-type]  # no body at all


@app.post(
    "/images/<image_id>/reprocess",
    status_code=202,
    summary="Run the ingest workflow again over the stored original",
    responses=responses(202, "A new run started", 404, 409, 503),
    security=SECURITY,
    tags=["images"],
)
def reprocess_image(image_id: ImageId) -> ReprocessAccepted:
    return service.reprocess(owner(), image_id, settings())


@app.get(
    "/images/<image_id>/runs",
    summary="The image's workflow runs, state by state",
    description="Each execution that worked on the image (the last ten), newest first: every state it "
    "entered in order, with start, duration, retries and their errors, the Catch taken, trimmed input and "
    "output. Read from the Step Functions execution history; not counted as an access.",
    responses=responses(200, "The runs", 404),
    security=SECURITY,
    tags=["runs"],
)
def image_runs(image_id: ImageId) -> ImageRuns:
    return service.image_runs(owner(), image_id, settings())


@app.get(
    "/images/<image_id>/similar",
    summary="The caller's near duplicates of an image",
    description="Images whose perceptual hash differs from this one's by at most `threshold` bits (resized, "
    "recompressed, slightly cropped, brightened or rotated copies), closest first; found by index lookups, "
    "never a scan. Not counted as an access.",
    responses=responses(200, "The near duplicates", 404),
    security=SECURITY,
    tags=["images"],
)
def similar_images(image_id: ImageId) -> SimilarImages:
    return service.similar_images(owner(), image_id, settings(), accept=_accept())


@app.get(
    "/workflow",
    summary="The ingest workflow's graph",
    description="States and transitions, generated from the state machine's ASL definition: Parallel "
    "branches (`parent`), Choice rules, Catch edges with the errors they catch, Retry rules per state.",
    responses=responses(200, "The graph"),
    security=SECURITY,
    tags=["runs"],
)
def workflow_graph() -> WorkflowGraph:
    owner()
    return service.workflow_graph()


@app.get("/openapi.json", include_in_schema=False)
def openapi_json() -> Response[str]:
    return Response(
        status_code=200, content_type=content_types.APPLICATION_JSON, body=app.get_openapi_json_schema(**SPEC)
    )


SPEC: dict[str, Any] = {
    "title": TITLE,
    "version": VERSION,
    "description": DESCRIPTION,
    "security_schemes": {"bearer": HTTPBearer(bearerFormat="JWT")},
}
app.enable_swagger(path="/swagger", **SPEC)


# -- errors --------------------------------------------------------------------------------------------
def _json_error(status: int, message: str, detail: list[dict[str, Any]] | None = None) -> Response:
    body: dict[str, Any] = {"statusCode": status, "message": message}
    if detail is not None:
        body["detail"] = detail
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@app.exception_handler(service.ApiError)
def _api_error(exc: service.ApiError) -> Response:
    return _json_error(exc.status, exc.message)


@app.exception_handler(RequestValidationError)
def _invalid(exc: RequestValidationError) -> Response:
    detail = [
        {"loc": list(e.get("loc", ())), "type": e.get("type", "invalid"), "msg": str(e.get("msg", ""))[:300]}
        for e in exc.errors()
    ]
    where = ", ".join(".".join(str(p) for p in d["loc"]) for d in detail[:5])
    return _json_error(422, f"invalid request: {where}" if where else "invalid request", detail)


@app.exception_handler(RequestUnsupportedContentType)
def _unsupported_type(exc: RequestUnsupportedContentType) -> Response:
    return _json_error(415, "send the body as application/json")


@app.exception_handler(ServiceError)
def _service_error(exc: ServiceError) -> Response:
    return _json_error(exc.status_code, exc.msg if isinstance(exc.msg, str) else json.dumps(exc.msg))


@cache
def _routes() -> list[tuple[re.Pattern[str], dict[str, set[str]]]]:
    """Every documented route: (path pattern, {method: its query parameters}), from the spec."""
    routes = []
    for path, item in json.loads(app.get_openapi_json_schema(**SPEC))["paths"].items():
        methods = {
            method.upper(): {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            for method, operation in item.items()
        }
        routes.append((re.compile(re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path))), methods))
    return routes


def _route(path: str) -> dict[str, set[str]] | None:
    return next((methods for pattern, methods in _routes() if pattern.fullmatch(path)), None)


@app.not_found
def _not_found(exc: NotFoundError) -> Response:
    event = app.current_event
    methods = _route(event.path)
    if methods is None:
        return _json_error(404, "no such route")
    if event.http_method.upper() in methods:  # a path parameter that Powertools' router refused
        return _json_error(404, "image not found")
    allowed = ", ".join(methods)
    response = _json_error(405, f"method not allowed here (allowed: {allowed})")
    response.headers["Allow"] = allowed
    return response


def resolve(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``app.resolve``, refusing bodies that are not JSON first (415; Powertools would try to parse them)."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    media_type = headers.get("content-type", "application/json").split(";")[0].strip().lower()
    body = event.get("body")
    if body and not (media_type == "application/json" or media_type.endswith("+json")):
        return _early(415, "send the body as application/json")
    if body and event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body).decode("utf-8")
        except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
            return _early(422, "invalid request: the body is not UTF-8 JSON")
    if body and (problem := _unparseable(body)):
        return _early(422, f"invalid request: {problem}")
    known = (_route(event.get("rawPath") or "") or {}).get(event["requestContext"]["http"]["method"].upper())
    unknown = sorted(set(event.get("queryStringParameters") or {}) - known) if known is not None else []
    if unknown:
        return _early(422, f"invalid request: unknown query parameter(s): {', '.join(unknown)}")
    if event["requestContext"]["http"]["method"].upper() == "HEAD":
        return _head(event, context)
    return app.resolve(event, context)


def _head(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """HEAD of a GET route (RFC 9110): the GET's status and headers, without its body."""
    methods = _route(event.get("rawPath") or "") or {}
    if "GET" not in methods:
        return app.resolve(event, context)  # no GET here: Powertools answers 404 or 405
    as_get = {
        **event,
        "requestContext": {**event["requestContext"], "http": {**event["requestContext"]["http"]}},
    }
    as_get["requestContext"]["http"]["method"] = "GET"
    if "routeKey" in as_get:
        as_get["routeKey"] = as_get["routeKey"].replace("HEAD", "GET", 1)
    answer = app.resolve(as_get, context)
    body = answer.get("body") or ""
    size = len(base64.b64decode(body)) if answer.get("isBase64Encoded") else len(body.encode())
    return {
        **answer,
        "body": "",
        "isBase64Encoded": False,
        "headers": {**(answer.get("headers") or {}), "Content-Length": str(size)},
    }


def _unparseable(body: str) -> str | None:
    """Why ``body`` is no request body: what Powertools would turn into a 500 or read wrongly.

    Syntax errors are left to Powertools (its 422 names the position); nesting deeper than the parser's
    recursion limit (RecursionError) and integers beyond Python's digit limit (ValueError) are named here,
    and so is any JSON value other than an object (every body of this API is one; Powertools would take
    an array's first element as the body).
    """
    try:
        parsed = json.loads(body)
    except RecursionError:
        return "the body nests too deeply"
    except json.JSONDecodeError:
        return None
    except ValueError:
        return "a number in the body has too many digits"
    if not isinstance(parsed, dict):
        return f"the body must be a JSON object, not {type(parsed).__name__.replace('dict', 'object')}"
    return None


def _early(status: int, message: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"statusCode": status, "message": message}),
        "isBase64Encoded": False,
    }


@app.exception_handler(TransientError)
def _busy(exc: TransientError) -> Response:
    # DynamoDB or S3 throttled or failed for a moment (named by imgflow.aws): the caller may retry.
    logger.warning("storage busy", extra={"error": type(exc).__name__, "detail": str(exc)[:300]})
    response = _json_error(503, "the service is busy; retry in a moment")
    response.headers["Retry-After"] = "1"
    return response


@app.exception_handler(Exception)
def _unexpected(exc: Exception) -> Response:
    logger.exception("unhandled error")
    return _json_error(500, "internal error")
