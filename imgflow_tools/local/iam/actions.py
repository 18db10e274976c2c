"""The IAM actions and resource ARNs one request to the local AWS endpoint asks for, as AWS authorizes it.

S3 by method, path and sub-resource (HeadObject is ``s3:GetObject``, a bucket listing ``s3:ListBucket``);
the JSON services (DynamoDB, Step Functions, EventBridge, SQS) by ``X-Amz-Target`` and the request's table,
index, state machine, execution, rule or queue; Lambda by its REST path. A request may need several
(BatchGetItem: one per table; TransactWriteItems: one per item).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from imgflow_tools.local.iam.roles import ACCOUNT, REGION

Need = tuple[str, str]  # (action, resource ARN)

_S3_OBJECT_SUBRESOURCES = {
    "tagging": {"GET": "GetObjectTagging", "PUT": "PutObjectTagging", "DELETE": "DeleteObjectTagging"},
    "acl": {"GET": "GetObjectAcl", "PUT": "PutObjectAcl"},
    "retention": {"GET": "GetObjectRetention", "PUT": "PutObjectRetention"},
    "legal-hold": {"GET": "GetObjectLegalHold", "PUT": "PutObjectLegalHold"},
    "attributes": {"GET": "GetObjectAttributes"},
}
_S3_BUCKET_SUBRESOURCES = {
    "notification": {"GET": "GetBucketNotification", "PUT": "PutBucketNotification"},
    "tagging": {"GET": "GetBucketTagging", "PUT": "PutBucketTagging", "DELETE": "PutBucketTagging"},
    "location": {"GET": "GetBucketLocation"},
    "versioning": {"GET": "GetBucketVersioning", "PUT": "PutBucketVersioning"},
    "versions": {"GET": "ListBucketVersions"},
    "uploads": {"GET": "ListBucketMultipartUploads"},
    "lifecycle": {"GET": "GetLifecycleConfiguration", "PUT": "PutLifecycleConfiguration"},
    "cors": {"GET": "GetBucketCORS", "PUT": "PutBucketCORS"},
    "policy": {"GET": "GetBucketPolicy", "PUT": "PutBucketPolicy", "DELETE": "DeleteBucketPolicy"},
}


def s3_needs(
    method: str,
    bucket: str | None,
    key: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
) -> list[Need]:
    """What an S3 request needs (``bucket`` None: the service, ListAllMyBuckets)."""
    if not bucket:
        return [("s3:ListAllMyBuckets", "*")]
    bucket_arn = f"arn:aws:s3:::{bucket}"
    if key:
        arn = f"{bucket_arn}/{key}"
        for sub, actions in _S3_OBJECT_SUBRESOURCES.items():
            if sub in query:
                return [(f"s3:{actions.get(method, sub)}", arn)]
        if "uploadId" in query:
            if method == "DELETE":
                return [("s3:AbortMultipartUpload", arn)]
            if method == "GET":
                return [("s3:ListMultipartUploadParts", arn)]
            return [("s3:PutObject", arn)]
        if method in ("GET", "HEAD"):
            return [("s3:GetObject", arn)]
        if method == "DELETE":
            return [("s3:DeleteObject", arn)]
        needs = [("s3:PutObject", arn)]  # PUT, and POST ?uploads
        if source := headers.get("x-amz-copy-source"):
            needs.append(("s3:GetObject", f"arn:aws:s3:::{unquote(source.split('?')[0]).lstrip('/')}"))
        return needs
    for sub, actions in _S3_BUCKET_SUBRESOURCES.items():
        if sub in query:
            return [(f"s3:{actions.get(method, sub)}", bucket_arn)]
    if method == "POST" and "delete" in query:
        return [("s3:DeleteObject", f"{bucket_arn}/{k}") for k in _delete_keys(body)] or [
            ("s3:DeleteObject", f"{bucket_arn}/*")
        ]
    if method in ("GET", "HEAD"):
        return [("s3:ListBucket", bucket_arn)]
    if method == "PUT":
        return [("s3:CreateBucket", bucket_arn)]
    if method == "DELETE":
        return [("s3:DeleteBucket", bucket_arn)]
    return [(f"s3:{method.title()}Bucket", bucket_arn)]


def _delete_keys(body: bytes) -> list[str]:
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return []
    return [el.text or "" for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "Key"]


def _table(name: str) -> str:
    if name.startswith("arn:"):
        return name
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def _dynamodb(operation: str, params: Mapping[str, Any]) -> list[Need]:
    action = f"dynamodb:{operation}"
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(action, _table(t)) for t in params.get("RequestItems", {})] or [(action, "*")]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        needs: list[Need] = []
        for item in params.get("TransactItems", []):
            for kind, part in item.items():
                verb = {
                    "Put": "PutItem",
                    "Update": "UpdateItem",
                    "Delete": "DeleteItem",
                    "ConditionCheck": "ConditionCheckItem",
                    "Get": "GetItem",
                }.get(kind, kind)
                needs.append((f"dynamodb:{verb}", _table(part.get("TableName", ""))))
        return needs or [(action, "*")]
    table = params.get("TableName")
    if not table:
        return [(action, "*")]
    arn = _table(table)
    if index := params.get("IndexName"):
        arn = f"{arn}/index/{index}"
    return [(action, arn)]


def _states(operation: str, params: Mapping[str, Any]) -> list[Need]:
    arn = params.get("executionArn") or params.get("stateMachineArn") or params.get("mapRunArn") or "*"
    return [(f"states:{operation}", arn)]


def _events(operation: str, params: Mapping[str, Any]) -> list[Need]:
    rule = (
        params.get("Name")
        if operation in ("PutRule", "DescribeRule", "DeleteRule", "EnableRule", "DisableRule")
        else params.get("Rule")
    )
    if rule:
        return [(f"events:{operation}", f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}")]
    return [(f"events:{operation}", "*")]


def _sqs(operation: str, params: Mapping[str, Any]) -> list[Need]:
    url = params.get("QueueUrl") or ""
    if url:
        return [(f"sqs:{operation}", f"arn:aws:sqs:{REGION}:{ACCOUNT}:{url.rstrip('/').rsplit('/', 1)[-1]}")]
    return [(f"sqs:{operation}", "*")]


_JSON_SERVICES = {"dynamodb": _dynamodb, "states": _states, "events": _events, "sqs": _sqs}


def json_needs(service: str, target: str, body: bytes) -> list[Need]:
    operation = target.rsplit(".", 1)[-1]
    try:
        params = json.loads(body or b"{}")
    except ValueError:
        params = {}
    if not isinstance(params, dict):
        params = {}
    handler = _JSON_SERVICES.get(service)
    return handler(operation, params) if handler else [(f"{service}:{operation}", "*")]


def _function_arn(name: str) -> str:
    name = unquote(name)
    if name.startswith("arn:"):
        parts = name.split(":")
        return ":".join(parts[:7])
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name.split(':')[0]}"


def lambda_needs(method: str, path: str) -> list[Need]:
    parts = [p for p in path.split("/") if p]
    # /2015-03-31/functions/<name>/invocations, /2017-10-31/functions/<name>/concurrency, ...
    if len(parts) >= 3 and parts[1] == "functions":
        arn = _function_arn(parts[2])
        tail = parts[3] if len(parts) > 3 else ""
        action = {
            ("POST", "invocations"): "InvokeFunction",
            ("PUT", "concurrency"): "PutFunctionConcurrency",
            ("DELETE", "concurrency"): "DeleteFunctionConcurrency",
            ("GET", "concurrency"): "GetFunctionConcurrency",
            ("GET", ""): "GetFunction",
            ("DELETE", ""): "DeleteFunction",
            ("GET", "configuration"): "GetFunctionConfiguration",
            ("PUT", "configuration"): "UpdateFunctionConfiguration",
        }.get((method, tail), f"{method.title()}{tail.title()}")
        return [(f"lambda:{action}", arn)]
    if len(parts) >= 2 and parts[1] == "functions":
        return [("lambda:CreateFunction" if method == "POST" else "lambda:ListFunctions", "*")]
    return [(f"lambda:{method.title()}", "*")]


def query_needs(service: str, body: bytes, query: Mapping[str, str]) -> list[Need]:
    params = {**query, **dict(parse_qsl(body.decode("utf-8", "replace")))}
    action = params.get("Action", "Unknown")
    if service == "sqs":
        return _sqs(action, params)
    if service == "sts" and action == "AssumeRole":
        return [("sts:AssumeRole", params.get("RoleArn", "*"))]
    return [(f"{service}:{action}", "*")]


def needs(
    service: str,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    s3_target: tuple[str | None, str] | None = None,
) -> list[Need]:
    """The (action, resource) pairs the request needs; ``headers`` with lower-case names."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if service == "s3":
        bucket, key = s3_target or (None, "")
        return s3_needs(method, bucket, key, query, headers, body)
    if service == "lambda":
        return lambda_needs(method, parts.path)
    if target := headers.get("x-amz-target"):
        return json_needs(service, target, body)
    return query_needs(service, body, query)
