"""Fault injection for the local mode: AWS failing the way AWS fails, at the AWS boundary. Off by default.

One setting, ``IMGFLOW_FAULTS=s3=0.2,dynamodb=0.2,lambda=0.1,drop=0.05,dup=0.3`` (plus ``seed=7`` or
``IMGFLOW_FAULTS_SEED``), read when the local stack starts, and switchable while it runs through the control
route of the local AWS endpoint (``GET``/``PUT /_imgflow/faults``, JSON ``{"spec": "..."}``; ``"off"`` stops).

Where each fault is made (never in task code):

- ``s3``, ``dynamodb``: a botocore ``before-send`` handler, registered for every client of this process
  but acting only on calls made while a Lambda handler runs in the local runtime (the task code's calls).
  It answers as S3/DynamoDB do when they fail: throttling (``SlowDown``, ``ProvisionedThroughputExceeded``),
  500/503, read timeouts, and for a share of them *after* the request reached moto (the write was applied,
  the answer is lost). botocore's own retries then behave as in AWS, and whatever they do not absorb
  reaches the task code as a real ``ClientError`` or ``ReadTimeoutError``. A hook before sending rather
  than a WSGI middleware because the server cannot tell a task's call from the engine's, the API's or an
  operator's (all are plain SigV4 requests with the same test keys); in-process, the invocation can.
- ``lambda``: Lambda's own service errors (``ServiceException`` 500, ``TooManyRequestsException`` 429)
  for an invocation, before the handler ran or after it ran (its effects stay, its answer is lost); the
  engine reports them as ``Lambda.ServiceException`` etc., exactly as Step Functions does.
- ``drop``, ``dup``, ``delay``: event delivery (EventBridge -> the ingest machine) loses an event, delivers
  it twice (the copy up to ``max_delay_s`` later), or delivers it late, which reorders deliveries.

Seeded: each fault kind draws from its own generator seeded from the seed, so the n-th call of a kind
gets the same decision in every run with that seed (with concurrent executions, which call is the n-th
follows thread scheduling).
"""

from __future__ import annotations

import json
import os
import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

from imgflow_tools import aws_keys
from imgflow_tools.local import moto_adapter

#: The kinds a spec may name, with what each one is a fraction of.
KINDS = {
    "s3": "S3 calls of task code",
    "dynamodb": "DynamoDB calls of task code",
    "lambda": "Lambda invocations",
    "drop": "event deliveries lost",
    "dup": "event deliveries duplicated",
    "delay": "event deliveries delayed (reordered)",
}
CONTROL_PATH = "/_imgflow/faults"
DEFAULT_SEED = 1

# How each service fails, weighted as a mix (name, HTTP status, weight). "timeout" raises botocore's
# ReadTimeoutError; "applied:" variants send the request first, then fail its answer.
_STORAGE_FAILURES: dict[str, list[tuple[str, int, float]]] = {
    "s3": [
        ("SlowDown", 503, 0.35),
        ("InternalError", 500, 0.15),
        ("ServiceUnavailable", 503, 0.1),
        ("timeout", 0, 0.15),
        ("applied:InternalError", 500, 0.15),
        ("applied:timeout", 0, 0.1),
    ],
    "dynamodb": [
        ("ProvisionedThroughputExceededException", 400, 0.3),
        ("ThrottlingException", 400, 0.1),
        ("InternalServerError", 500, 0.15),
        ("timeout", 0, 0.15),
        ("applied:InternalServerError", 500, 0.2),
        ("applied:timeout", 0, 0.1),
    ],
}
_LAMBDA_FAILURES = [
    ("ServiceException", 500, 0.5),
    ("TooManyRequestsException", 429, 0.2),
    ("applied:ServiceException", 500, 0.3),
]
_MESSAGES = {
    "SlowDown": "Please reduce your request rate.",
    "InternalError": "We encountered an internal error. Please try again.",
    "ServiceUnavailable": "Service is unable to handle request.",
    "ProvisionedThroughputExceededException": "The level of configured provisioned throughput for the table "
    "was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
    "ThrottlingException": "Rate of requests exceeds the allowed throughput.",
    "InternalServerError": "Internal server error",
    "ServiceException": "Lambda was unable to process the request.",
    "TooManyRequestsException": "Rate Exceeded.",
}


class FaultSpecError(ValueError):
    """A fault setting that cannot be read (the message says which part)."""


@dataclass(frozen=True)
class FaultSpec:
    """Fractions per fault kind, and the seed."""

    rates: dict[str, float] = field(default_factory=dict)
    seed: int = DEFAULT_SEED
    #: The longest delay of a delayed or duplicated delivery.
    max_delay_s: float = 1.0

    @classmethod
    def parse(cls, text: str | None, seed: int | None = None) -> FaultSpec:
        """``"s3=0.2,dynamodb=0.2,lambda=0.1,drop=0.05,dup=0.3,seed=7"``; empty or ``off``: no faults."""
        rates: dict[str, float] = {}
        parsed_seed, max_delay = seed, 1.0
        text = (text or "").strip()
        if text.lower() in ("", "off", "none", "0"):
            return cls({}, parsed_seed if parsed_seed is not None else DEFAULT_SEED)
        for part in text.split(","):
            name, sep, value = part.strip().partition("=")
            name = name.strip().lower()
            try:
                number = float(value)
            except ValueError:
                raise FaultSpecError(f"{part.strip()!r}: expected name=number") from None
            if not sep:
                raise FaultSpecError(f"{part.strip()!r}: expected name=number")
            if name == "seed":
                parsed_seed = int(number) if seed is None else seed
            elif name == "max_delay_s":
                max_delay = number
            elif name in KINDS:
                if not 0 <= number <= 1:
                    raise FaultSpecError(f"{name}={value}: a fraction between 0 and 1")
                rates[name] = number
            else:
                raise FaultSpecError(f"unknown fault kind {name!r} (known: {', '.join(KINDS)}, seed)")
        return cls(rates, parsed_seed if parsed_seed is not None else DEFAULT_SEED, max_delay)

    @classmethod
    def from_env(cls) -> FaultSpec:
        seed = os.environ.get("IMGFLOW_FAULTS_SEED")
        return cls.parse(os.environ.get("IMGFLOW_FAULTS"), int(seed) if seed else None)

    @property
    def active(self) -> bool:
        return any(rate > 0 for rate in self.rates.values())

    def __str__(self) -> str:
        if not self.active:
            return "off"
        parts = [f"{k}={self.rates[k]:g}" for k in KINDS if self.rates.get(k)]
        return ",".join([*parts, f"seed={self.seed}"])


class _Body:
    """The ``raw`` of an AWSResponse made here."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterable[bytes]:
        yield self.data


def _error_response(service: str, request: Any, code: str, status: int) -> AWSResponse:
    request_id = uuid.uuid4().hex.upper()[:16]
    message = _MESSAGES.get(code, code)
    if service == "s3":
        headers = {"Content-Type": "application/xml", "x-amz-request-id": request_id}
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message>"
            f"<RequestId>{request_id}</RequestId><HostId>imgflow-local</HostId></Error>"
        ).encode()
        if request.method == "HEAD":
            body = b""  # S3 answers a HEAD without a body: the code is the status
    else:
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": request_id}
        error_type = f"com.amazonaws.dynamodb.v20120810#{code}"
        body = json.dumps({"__type": error_type, "message": message}).encode()
    return AWSResponse(request.url, status, headers, _Body(body))


class FaultInjector:
    """The process's fault setting, the decisions it draws, and what it injected."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.spec = FaultSpec()
        self._rngs: dict[str, random.Random] = {}
        self.injected: Counter[str] = Counter()
        self._delayed = 0
        self._http: Any = None

    def configure(self, spec: FaultSpec) -> None:
        """Switch to ``spec`` (the generators restart from its seed)."""
        with self._lock:
            self.spec = spec
            self._rngs = {kind: random.Random(f"{spec.seed}:{kind}") for kind in KINDS}

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "spec": str(self.spec),
                "active": self.spec.active,
                "injected": dict(self.injected),
                "deliveries_in_flight": self._delayed,
            }

    def _draw(self, kind: str) -> random.Random | None:
        """The kind's generator when this call is to fail, else None (one draw per call either way)."""
        with self._lock:
            rate = self.spec.rates.get(kind, 0.0)
            if rate <= 0:
                return None
            rng = self._rngs[kind]
            return rng if rng.random() < rate else None

    def _pick(self, rng: random.Random, mix: list[tuple[str, int, float]]) -> tuple[str, int]:
        with self._lock:
            names = [(name, status) for name, status, _ in mix]
            return rng.choices(names, weights=[w for *_, w in mix])[0]

    def _count(self, what: str) -> None:
        with self._lock:
            self.injected[what] += 1

    # -- S3 and DynamoDB: botocore before-send ------------------------------------------------------------
    def before_send(self, request: Any, event_name: str = "", **_: Any) -> AWSResponse | None:
        """botocore ``before-send`` handler: a failed answer instead of moto's, for task code's calls."""
        service = event_name.split(".")[1] if event_name.count(".") >= 2 else ""
        if service not in _STORAGE_FAILURES or moto_adapter.current_function() is None:
            return None
        rng = self._draw(service)
        if rng is None:
            return None
        variant, status = self._pick(rng, _STORAGE_FAILURES[service])
        self._count(f"{service}:{variant}")
        applied, _sep, code = variant.rpartition(":")
        if applied:
            self._send(request)
        if code == "timeout":
            raise ReadTimeoutError(endpoint_url=request.url)
        return _error_response(service, request, code, status)

    def _send(self, request: Any) -> None:
        from botocore.httpsession import URLLib3Session

        with self._lock:
            if self._http is None:
                self._http = URLLib3Session(timeout=60)
        self._http.send(request).content  # noqa: B018 - read the answer that is then lost

    # -- Lambda: the in-process invoke ------------------------------------------------------------------
    def lambda_fault(self, stage: str, function_name: str) -> None:
        """Raise a Lambda service error for this invocation ``stage`` ("before" or "after" the handler)."""
        if stage == "before":
            _after.code = None
            rng = self._draw("lambda")
            if rng is None:
                return
            variant, status = self._pick(rng, _LAMBDA_FAILURES)
            self._count(f"lambda:{variant}")
            applied, _, code = variant.rpartition(":")
            if applied:  # decided now (one draw per invocation), raised once the handler has run
                _after.code = (code, status)
                return
            raise _lambda_error(code, status, function_name)
        planned = getattr(_after, "code", None)
        if planned:
            _after.code = None
            code, status = planned
            raise _lambda_error(code, status, function_name)

    # -- events: EventBridge delivery ------------------------------------------------------------------
    def plan_delivery(self, event: dict[str, Any], target_arn: str) -> list[float]:
        """Delays of the deliveries to make of ``event``: [] drops it, two entries duplicate it."""
        if self._draw("drop"):
            self._count("event:drop")
            return []
        delays = [0.0]
        rng = self._draw("delay")
        if rng:
            self._count("event:delay")
            delays = [rng.uniform(0, self.spec.max_delay_s)]
        rng = self._draw("dup")
        if rng:
            self._count("event:dup")
            delays.append(rng.uniform(0, self.spec.max_delay_s))
        return delays

    def delivery_started(self, delay: float) -> None:
        with self._lock:
            self._delayed += 1

    def delivery_ended(self) -> None:
        with self._lock:
            self._delayed -= 1


_after = threading.local()


def _lambda_error(code: str, status: int, function_name: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError(code, f"{_MESSAGES.get(code, code)} (function {function_name}, injected)")
    error.code = status
    return error


injector = FaultInjector()
_installed = False


def install(spec: FaultSpec | None = None) -> FaultInjector:
    """Hook the injector into the local runtime (idempotent) and apply ``spec`` (default: the env)."""
    global _installed
    from botocore import handlers

    if not _installed:
        handlers.BUILTIN_HANDLERS.append(("before-send", injector.before_send))
        moto_adapter.deliveries.before_delivery = injector.plan_delivery
        moto_adapter.deliveries.delayed = (injector.delivery_started, injector.delivery_ended)
        moto_adapter.invoke_faults = injector.lambda_fault
        _installed = True
    injector.configure(spec if spec is not None else FaultSpec.from_env())
    return injector


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def control(app: WsgiApp) -> WsgiApp:
    """WSGI middleware: ``GET``/``PUT``/``POST /_imgflow/faults`` reads or switches the fault setting."""

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != CONTROL_PATH:
            return app(environ, start_response)
        status = "200 OK"
        if environ.get("REQUEST_METHOD") in ("PUT", "POST"):
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = json.loads(environ["wsgi.input"].read(min(length, 10_000)) or b"{}")
                seed = body.get("seed")
                injector.configure(FaultSpec.parse(str(body.get("spec", "off")), int(seed) if seed else None))
            except (ValueError, TypeError, AttributeError) as exc:
                status = "400 Bad Request"
                payload = json.dumps({"message": str(exc)}).encode()
                start_response(status, [("Content-Type", "application/json")])
                return [payload]
        payload = json.dumps(injector.stats()).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]

    return middleware


def set_remote(endpoint: str, spec: str, seed: int | None = None) -> dict[str, Any]:
    """Switch the faults of the local stack at ``endpoint`` (e.g. ``imgflow serve``'s AWS endpoint)."""
    import requests

    body: dict[str, Any] = {"spec": spec}
    if seed is not None:
        body["seed"] = seed
    url, data = endpoint.rstrip("/") + CONTROL_PATH, json.dumps(body).encode()
    # The control route needs the operator's signature (imgflow_tools/local/iam).
    headers = aws_keys.signed_headers("PUT", url, data, headers={"Content-Type": "application/json"})
    response = requests.put(url, data=data, headers=headers, timeout=10)
    response.raise_for_status()
    return dict(response.json())


def get_remote(endpoint: str) -> dict[str, Any]:
    import requests

    url = endpoint.rstrip("/") + CONTROL_PATH
    response = requests.get(url, headers=aws_keys.signed_headers("GET", url), timeout=10)
    response.raise_for_status()
    return dict(response.json())
