"""Every adaptation of moto that the local mode needs, in one place. Pinned to moto 5.2.5.

moto is the local AWS; where it falls short of what AWS does for this workflow, this module bridges it
(each gap is covered by tests/workflow/test_moto_adapter.py, which fail if upstream behaviour changes).
The code runs in this order; each section that changes moto has its own ``_install_...`` function, and
``install()`` calls them 1 to 9 (6. only defines hooks that 1. and 2. call):

1. Lambda invoke wants Docker: ``LambdaFunction._invoke_lambda`` is replaced by an in-process call of the
   function's ``Handler`` (a Python dotted path), errors reported as Lambda reports them
   (``errorType`` = the exception's class name), so Retry/Catch match names exactly as in AWS.
2. S3 -> EventBridge: moto's "Object Created" event has a fixed id and sequencer, an epoch ``time`` and
   ``eTag`` instead of ``etag``; and a rule whose target is a state machine raises NotImplementedError
   (swallowed). We emit the event as AWS does and start the target state machine with it.
3. Retry waits are real sleeps: ``IMGFLOW_LOCAL_TIME_SCALE`` (default 1) scales them, for fast tests.
4. Speed (py-spy, 60 demo images, GIL time): the engine parses the definition with ANTLR for every execution
   (~25%: 64 ms; a deep copy of the parsed program is 4 ms and just as private to the execution), builds a
   new boto3 client for every task (~10%) and a JSONPath parser for every path it evaluates (~7%); the
   server matches every request against hundreds of URL patterns under one lock. All four are cached here.
5. DynamoDB conditional writes are not atomic: moto evaluates a ConditionExpression and then applies the
   update without a lock, so concurrent writers can all pass the same condition (4 threads making the same
   ``claim``: more than one winner in 20 of 40 trials), and a reader can see a half-applied update. Every
   item read and write of the backend runs under one lock here, as DynamoDB serializes writes to an item.
6. Fault injection hooks (used by ``imgflow_tools/local/faults.py``, off unless set): ``invoke_faults`` may
   fail an invocation with a Lambda service error before or after its handler ran; ``current_function()``
   tells which function's handler runs on this thread (so only task code's S3/DynamoDB calls get faults);
   ``deliveries.before_delivery`` may return the delays of the deliveries to make (``[]`` drops an event,
   two entries duplicate it, a delay reorders it); ``engine_credentials`` gives the engine's calls for a
   state machine its role's credentials (the local IAM; 4. keeps one client per role).
7. ``arn:aws:states:::states:startExecution(.sync:2)`` (moto issue 10076): moto's port leaves the ASL's
   parameter names (``StateMachineArn``) as they are for boto3, which wants ``stateMachineArn``, and the
   response un-cased (``executionArn`` where the sync resolver reads ``ExecutionArn``). We re-case both ways
   through the botocore shapes, as AWS (and LocalStack's base class) does.
8. Concurrency: moto stores a function's reserved concurrency (``PutFunctionConcurrency``) and never applies
   it. An invocation beyond it is refused here exactly as Lambda refuses it (HTTP 429
   ``TooManyRequestsException``, Reason ``ReservedFunctionConcurrentInvocationLimitExceeded``), so the
   engine's Lambda integration reports ``Lambda.TooManyRequestsException`` to the ASL, as in AWS; functions
   without a reservation share what the account quota leaves (``concurrency.account_limit``, 1000 as in
   AWS). The wait before
   retrying a throttled task is not scaled by 3.: a slot frees when local work ends, and that work is
   not scaled, so a wait scaled to milliseconds would only spin through the Retry's attempts. Its own knob,
   ``IMGFLOW_LOCAL_THROTTLE_TIME_SCALE`` (default 1), shortens it for a test whose backlog is short.
   A task's TimeoutSeconds is wall time, and locally every handler shares one process: a burst of hundreds of
   executions queues each handler behind the GIL for longer than the task takes in AWS. For burst runs,
   ``IMGFLOW_LOCAL_TASK_TIMEOUT_SCALE`` (default 1) stretches the ASL's TimeoutSeconds by that factor.
9. The engine logs every exception it evaluates at ERROR, also those the ASL handles (``IsPresent`` on a
   missing path): that logger is raised to CRITICAL; failures that matter are in the execution's history.
   The parser's warning that ``ToleratedFailurePercentagePath`` has no effect (on every start) is dropped.
10. Behind the S3 POST-policy gate (``imgflow_tools/local/post_policy.py``, which installs this one), moto
   stores a POST Object only into the bucket, under the key and with the bytes the gate checked
   (``guard_s3_post_object``).
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import functools
import importlib
import itertools
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import moto
from moto.core.exceptions import JsonRESTError

MOTO_VERSION = "5.2.5"
log = logging.getLogger("imgflow_tools.local")

_lock = threading.Lock()
_installed = False
#: moto's own implementations, kept for the tests that check the gaps are still there upstream.
UPSTREAM: dict[str, Any] = {}


# -- 1. Lambda in-process -----------------------------------------------------------------------------
#: Called after every in-process invocation (the local runtime resets per-invocation state here).
after_invoke: list[Callable[[], None]] = []
#: The function whose handler runs on this thread (``current_function``, 6.).
_invocation = threading.local()


@dataclass
class LocalLambdaContext:
    """The attributes of the Lambda context object that Powertools and handlers read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_s: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def resolve_handler(dotted: str) -> Callable[[Any, Any], Any]:
    module_name, _, attr = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


def _invoke_in_process(self: Any, event: Any = None) -> tuple[str, bool, str]:
    """Replacement for ``LambdaFunction._invoke_lambda(self, event) -> (body, errored, logs)``."""
    payload = json.loads(event) if isinstance(event, str | bytes) else (event or {})
    context = LocalLambdaContext(
        function_name=self.function_name,
        memory_limit_in_mb=int(self.memory_size or 128),
        invoked_function_arn=self.function_arn,
        timeout_s=int(self.timeout or 3),
    )
    if invoke_faults:
        invoke_faults("before", self.function_name)
    _invocation.function = self.function_name
    try:
        answer = json.dumps(resolve_handler(self.handler)(payload, context)), False, ""
    except Exception as exc:  # reported to the workflow exactly as Lambda does
        error = {
            "errorType": type(exc).__name__,
            "errorMessage": str(exc),
            "requestId": context.aws_request_id,
            "stackTrace": traceback.format_exception(exc)[-6:],
        }
        answer = json.dumps(error), True, ""
    finally:
        _invocation.function = None
        for hook in after_invoke:
            hook()
    if invoke_faults:
        invoke_faults("after", self.function_name)
    return answer


def _install_lambda_invoke() -> None:
    from moto.awslambda.models import LambdaFunction

    UPSTREAM["invoke_lambda"] = LambdaFunction._invoke_lambda
    LambdaFunction._invoke_lambda = _invoke_in_process  # type: ignore[method-assign]


# -- 2. S3 -> EventBridge -> Step Functions --------------------------------------------------------------
@dataclass
class DeliveryLog:
    """What the local event bus did: how many events it delivered, and the deliveries that failed."""

    delivered: int = 0
    #: The most recent failed deliveries (bounded: a long-running ``imgflow serve`` must not grow).
    failures: deque[tuple[dict[str, Any], str]] = field(default_factory=lambda: deque(maxlen=1000))
    #: Hook for fault injection and tests: called with (event, target_arn) before each delivery; it may
    #: return the delays in seconds of the deliveries to make ([] drops the event; None: one, now).
    before_delivery: Callable[[dict[str, Any], str], list[float] | None] | None = None
    #: Events the hook dropped, and (started, ended) callbacks around each delayed delivery.
    dropped: int = 0
    delayed: tuple[Callable[[float], None], Callable[[], None]] | None = None


deliveries = DeliveryLog()
_sequence = itertools.count(1)


def new_sequencer() -> str:
    """S3-like sequencer: hex, grows with every write in this process (S3's grow per key)."""
    return f"{time.time_ns():016X}{next(_sequence):06X}"


def s3_object_created_event(
    *,
    account: str,
    region: str,
    bucket: str,
    key: str,
    size: int,
    etag: str,
    version_id: str | None,
    reason: str,
) -> dict[str, Any]:
    """The "Object Created" event as EventBridge delivers it in AWS."""
    obj: dict[str, Any] = {"key": key, "size": size, "etag": etag, "sequencer": new_sequencer()}
    if version_id and version_id != "null":
        obj["version-id"] = version_id
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": obj,
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": account,
            "source-ip-address": "127.0.0.1",
            "reason": reason,
        },
    }


def _send_event_bridge_message(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
    """Replacement for ``moto.s3.notifications._send_event_bridge_message``."""
    if "ObjectCreated" not in event_name:
        return  # this workflow subscribes to Object Created only
    event = s3_object_created_event(
        account=account_id,
        region=bucket.region_name,
        bucket=bucket.name,
        key=key.name,
        size=key.size,
        etag=key.etag.replace('"', ""),
        version_id=key.version_id,
        reason=event_name.split(":")[1],
    )
    put_event(account_id, bucket.region_name, event)


def put_event(account_id: str, region: str, event: dict[str, Any]) -> None:
    """Deliver ``event`` to every matching rule of every bus, as EventBridge would."""
    from moto.events.models import events_backends

    for bus in events_backends[account_id][region].event_buses.values():
        for rule in list(bus.rules.values()):
            if rule.state == "ENABLED" and rule.event_pattern.matches_event(event):  # type: ignore[arg-type]
                for target in rule.targets:
                    _deliver(event, target, account_id, region)


def _deliver(event: dict[str, Any], target: dict[str, Any], account_id: str, region: str) -> None:
    arn = target["Arn"]
    delays: list[float] | None = [0.0]
    try:
        if deliveries.before_delivery:
            delays = deliveries.before_delivery(event, arn)
    except Exception as exc:
        log.exception("event %s not delivered to %s", event.get("id"), arn)
        deliveries.failures.append((event, f"{type(exc).__name__}: {exc}"))
        return
    if delays is None:
        delays = [0.0]
    if not delays:
        deliveries.dropped += 1
    for delay in delays:
        if delay <= 0:
            _start(event, arn, account_id, region)
            continue
        if deliveries.delayed:
            deliveries.delayed[0](delay)
        timer = threading.Timer(delay, _start_later, args=(event, arn, account_id, region))
        timer.daemon = True
        timer.start()


def _start_later(event: dict[str, Any], arn: str, account_id: str, region: str) -> None:
    try:
        _start(event, arn, account_id, region)
    finally:
        if deliveries.delayed:
            deliveries.delayed[1]()


def _start(event: dict[str, Any], arn: str, account_id: str, region: str) -> None:
    try:
        if ":states:" not in arn:
            raise NotImplementedError(f"local event bus delivers to state machines only, not {arn}")
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        backend = stepfunctions_parser_backends[account_id][region]
        # EventBridge names the execution itself (a UUID); the input is the whole event.
        backend.start_execution(arn, name=str(uuid.uuid4()), execution_input=json.dumps(event))
        deliveries.delivered += 1
    except Exception as exc:
        log.exception("event %s not delivered to %s", event.get("id"), arn)
        deliveries.failures.append((event, f"{type(exc).__name__}: {exc}"))


def _install_event_bridge() -> None:
    from moto.core.config import default_user_config
    from moto.s3 import notifications

    UPSTREAM["send_event_bridge_message"] = notifications._send_event_bridge_message
    notifications._send_event_bridge_message = _send_event_bridge_message
    default_user_config["stepfunctions"] = {"execute_state_machine": True}  # the target runs its states


# -- 3. Retry waits --------------------------------------------------------------------------------------
#: True while the engine waits to retry a throttled task (set by 8.; such a wait is not scaled).
_throttle_wait: contextvars.ContextVar[bool] = contextvars.ContextVar("imgflow_throttle_wait", default=False)


class _ScaledTime:
    """Stands in for the ``time`` module inside moto's retrier: sleeps scaled by IMGFLOW_LOCAL_TIME_SCALE."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        if _throttle_wait.get():  # see 8.
            time.sleep(seconds * float(os.environ.get("IMGFLOW_LOCAL_THROTTLE_TIME_SCALE", "1")))
            return
        time.sleep(seconds * float(os.environ.get("IMGFLOW_LOCAL_TIME_SCALE", "1")))


@contextlib.contextmanager
def time_scale(scale: float, *, variable: str = "IMGFLOW_LOCAL_TIME_SCALE") -> Any:
    """Temporarily scale retry waits (tests); throttle waits: ``IMGFLOW_LOCAL_THROTTLE_TIME_SCALE``."""
    old = os.environ.get(variable)
    os.environ[variable] = str(scale)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = old


def _install_retry_waits() -> None:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    UPSTREAM["retrier_time"] = retrier_decl.time
    retrier_decl.time = _ScaledTime()  # type: ignore[assignment]


# -- 4. Speed -------------------------------------------------------------------------------------------
def _cached_backend_for_host(original: Callable[[Any, str | None], Any]) -> Callable[[Any, str | None], Any]:
    def get_backend_for_host(self: Any, host: str | None) -> Any:
        cache = self.__dict__.setdefault("_imgflow_backend_by_host", {})
        if host not in cache:
            cache[host] = original(self, host)
        return cache[host]

    return get_backend_for_host


def _cached_entrypoint(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    programs: dict[str, Any] = {}
    parsing = threading.Lock()

    def _get_evaluation_entrypoint(self: Any) -> Any:
        definition = self._evaluation_details.state_machine_details.definition
        with parsing:
            if definition not in programs:
                programs[definition] = original(self)
        return copy.deepcopy(programs[definition])

    return _get_evaluation_entrypoint


def _cached_boto_client_for(original: Callable[..., Any]) -> Callable[..., Any]:
    clients: dict[tuple[str, str, int], Any] = {}
    creating = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        # Upstream ignores state_credentials (every client has the fixed test keys): one client per role
        # serves all, signing with that role's session when ``engine_credentials`` knows it.
        from moto.core.models import botocore_stubber
        from moto.settings import moto_server_port

        role_arn = getattr(state_credentials, "role_arn", None)
        credentials = engine_credentials(role_arn) if engine_credentials else None
        key = (region, service, hash((botocore_stubber.enabled, moto_server_port(), role_arn, credentials)))
        with creating:
            if key not in clients:
                client = original(region=region, service=service, state_credentials=state_credentials)
                if credentials is not None:
                    client._request_signer._credentials = credentials  # the role's session, not "ak"/"sk"
                clients[key] = client
            return clients[key]

    return boto_client_for


def _install_speed() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from moto.stepfunctions.parser.asl.utils import boto_client, json_path
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    UPSTREAM.update(
        get_backend_for_host=DomainDispatcherApplication.get_backend_for_host,
        boto_client_for=boto_client.boto_client_for,
        evaluation_entrypoint=ExecutionWorker._get_evaluation_entrypoint,
        jsonpath_parse=json_path.parse,
    )
    setattr(  # noqa: B010 - a method replaced on the class
        DomainDispatcherApplication,
        "get_backend_for_host",
        _cached_backend_for_host(DomainDispatcherApplication.get_backend_for_host),
    )
    cached_client = _cached_boto_client_for(boto_client.boto_client_for)
    boto_client.boto_client_for = cached_client  # for the modules that import it later
    for module in list(sys.modules.values()):  # and those that already imported it by name
        if getattr(module, "boto_client_for", None) is UPSTREAM["boto_client_for"]:
            module.boto_client_for = cached_client  # type: ignore[attr-defined]
    setattr(  # noqa: B010 - a method replaced on the class
        ExecutionWorker,
        "_get_evaluation_entrypoint",
        _cached_entrypoint(ExecutionWorker._get_evaluation_entrypoint),
    )
    json_path.parse = functools.lru_cache(maxsize=4096)(json_path.parse)


# -- 5. Atomic DynamoDB item operations ------------------------------------------------------------------
#: The DynamoDB backend methods that read or write items; each runs whole under ``_dynamodb_lock``.
DYNAMODB_ITEM_OPERATIONS = (
    "put_item",
    "update_item",
    "delete_item",
    "get_item",
    "query",
    "scan",
    "transact_write_items",
    "transact_get_items",
    "batch_get_item",
)
_dynamodb_lock = threading.RLock()


def _atomic(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def serialized(*args: Any, **kwargs: Any) -> Any:
        with _dynamodb_lock:
            return original(*args, **kwargs)

    serialized.__imgflow_atomic__ = True  # type: ignore[attr-defined]
    return serialized


def _install_atomic_dynamodb() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    for name in DYNAMODB_ITEM_OPERATIONS:
        UPSTREAM[f"dynamodb_{name}"] = getattr(DynamoDBBackend, name)
        setattr(DynamoDBBackend, name, _atomic(getattr(DynamoDBBackend, name)))


# -- 6. Fault injection hooks ---------------------------------------------------------------------------
# Nothing to install: 1. and 2. call these hooks (and ``deliveries.before_delivery``) when they are set.
#: Called with ("before" | "after", function_name) around each invocation; raising a moto
#: ``JsonRESTError`` answers the Invoke call with that Lambda service error.
invoke_faults: Callable[[str, str], None] | None = None


#: The credentials the engine's calls for a state machine sign with (its role's session), by role ARN; set
#: by the local IAM (``imgflow_tools/local/credentials.py``); None: upstream's fixed keys.
engine_credentials: Callable[[str | None], Any] | None = None


def current_function() -> str | None:
    """The function whose handler runs on this thread (None outside an in-process invocation)."""
    return getattr(_invocation, "function", None)


# -- 7. startExecution casing (moto issue 10076) ----------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _sfn_operation(snake_action: str) -> Any:
    """The botocore operation model of a Step Functions action named in snake case."""
    import botocore.session
    from moto.stepfunctions.parser.utils import camel_to_snake_case

    model = botocore.session.get_session().get_service_model("stepfunctions")
    by_snake = {camel_to_snake_case(name): name for name in model.operation_names}
    return model.operation_model(by_snake[snake_action])


def _sfn_normalise_parameters(original: Callable[..., None]) -> Callable[..., None]:
    def _normalise_parameters(
        self: Any,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        original(self, parameters, boto_service_name, service_action_name)
        operation = _sfn_operation(self._get_boto_service_action(service_action_name))
        self._to_boto_request(parameters, operation.input_shape)

    return _normalise_parameters


def _sfn_normalise_response(
    self: Any, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
) -> None:
    operation = _sfn_operation(self._get_boto_service_action(service_action_name))
    self._from_boto_response(response, operation.output_shape)


def _install_start_execution_casing() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_sfn,
    )

    sfn_task = state_task_service_sfn.StateTaskServiceSfn
    UPSTREAM.update(
        sfn_normalise_parameters=sfn_task._normalise_parameters,
        sfn_normalise_response=sfn_task._normalise_response,
    )
    sfn_task._normalise_parameters = _sfn_normalise_parameters(  # type: ignore[method-assign]
        sfn_task._normalise_parameters
    )
    sfn_task._normalise_response = _sfn_normalise_response  # type: ignore[method-assign]


# -- 8. Concurrency --------------------------------------------------------------------------------------
class TooManyRequestsException(JsonRESTError):
    """Lambda's 429 for a throttled invocation, body as Lambda's API answers it."""

    code = 429

    def __init__(self, reason: str = "ReservedFunctionConcurrentInvocationLimitExceeded") -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")
        self.description = json.dumps({"Reason": reason, "Type": "User", "message": "Rate Exceeded."})


#: Lambda's default concurrency quota of an account in a region.
ACCOUNT_CONCURRENCY = 1000


@dataclass
class ConcurrencyLog:
    """Invocations in flight per function, refused ones (``throttled``) and the peak reached.

    A function with reserved concurrency runs at most that many at once; the others share what the
    account's quota (``account_limit``) leaves unreserved, as in Lambda.
    """

    account_limit: int = ACCOUNT_CONCURRENCY
    in_flight: dict[str, int] = field(default_factory=dict)
    peak: dict[str, int] = field(default_factory=dict)
    throttled: dict[str, int] = field(default_factory=dict)
    _unreserved_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def acquire(self, function_name: str, reserved: int | None, reserved_total: int) -> str | None:
        """Take a slot of ``function_name``; the throttle Reason (counted) when there is none."""
        with self._lock:
            running = self.in_flight.get(function_name, 0)
            if reserved is not None and running >= reserved:
                reason: str | None = "ReservedFunctionConcurrentInvocationLimitExceeded"
            elif reserved is None and self._unreserved_in_flight >= self.account_limit - reserved_total:
                reason = "ConcurrentInvocationLimitExceeded"
            else:
                reason = None
            if reason:
                self.throttled[function_name] = self.throttled.get(function_name, 0) + 1
                return reason
            self.in_flight[function_name] = running + 1
            self._unreserved_in_flight += reserved is None
            self.peak[function_name] = max(self.peak.get(function_name, 0), running + 1)
            return None

    def release(self, function_name: str, reserved: int | None) -> None:
        with self._lock:
            self.in_flight[function_name] -= 1
            self._unreserved_in_flight -= reserved is None

    def reset(self) -> None:
        """Forget the counts (not the invocations in flight)."""
        with self._lock:
            self.throttled.clear()
            self.peak = {name: n for name, n in self.in_flight.items() if n}

    @property
    def total_throttled(self) -> int:
        with self._lock:
            return sum(self.throttled.values())


concurrency = ConcurrencyLog()


def _reserved(function: Any) -> int | None:
    value = function.reserved_concurrency
    return None if value is None or value == "" else int(value)


def _limited_invoke(original: Callable[..., Any]) -> Callable[..., Any]:
    def invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> Any:
        """Replacement for ``LambdaFunction.invoke``: within the function's or the account's concurrency."""
        from moto.awslambda.models import lambda_backends

        reserved = _reserved(self)
        backend = lambda_backends[self.account_id][self.region]
        reserved_total = sum(_reserved(f) or 0 for f in backend.list_functions())
        reason = concurrency.acquire(self.function_name, reserved, reserved_total)
        if reason:
            raise TooManyRequestsException(reason)
        try:
            return original(self, body, request_headers, response_headers)
        finally:
            concurrency.release(self.function_name, reserved)

    return invoke


def _scaled_task_timeout(original: Callable[[Any, Any], int]) -> Callable[[Any, Any], float]:
    def _eval_seconds(self: Any, env: Any) -> float:
        """Wraps ``TimeoutSeconds._eval_seconds``: the state's TimeoutSeconds, stretched for burst runs."""
        seconds = original(self, env)
        if self.is_default_value():
            return seconds
        return seconds * float(os.environ.get("IMGFLOW_LOCAL_TASK_TIMEOUT_SCALE", "1"))

    return _eval_seconds


THROTTLED = "Lambda.TooManyRequestsException"


def _real_time_throttle_waits(original: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    def _eval_body(self: Any, env: Any) -> None:
        """Wraps ``RetrierDecl._eval_body``; the error being handled is on top of the engine's stack."""
        error = env.stack[-1] if env.stack else None
        token = _throttle_wait.set(getattr(error, "error_name", None) == THROTTLED)
        try:
            original(self, env)
        finally:
            _throttle_wait.reset(token)

    return _eval_body


def _install_concurrency() -> None:
    from moto.awslambda.models import LambdaFunction
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

    UPSTREAM.update(
        lambda_function_invoke=LambdaFunction.invoke,
        retrier_eval_body=retrier_decl.RetrierDecl._eval_body,
        timeout_seconds=TimeoutSeconds._eval_seconds,
    )
    LambdaFunction.invoke = _limited_invoke(LambdaFunction.invoke)  # type: ignore[method-assign]
    TimeoutSeconds._eval_seconds = _scaled_task_timeout(  # type: ignore[method-assign,assignment]
        TimeoutSeconds._eval_seconds
    )
    retrier_decl.RetrierDecl._eval_body = _real_time_throttle_waits(  # type: ignore[method-assign,assignment]
        retrier_decl.RetrierDecl._eval_body
    )


# -- 9. Quiet engine ---------------------------------------------------------------------------------------
#: moto's engine logs every exception raised while it evaluates a state at ERROR, also those the ASL
#: handles by design (a Choice's IsPresent on a missing path, a Catch): operators saw
#: "Exception=NoSuchJsonPathError" during healthy reprocess runs. Failures that matter end the execution
#: and are in its history (``imgflow runs``).
ENGINE_ERROR_LOGGER = "moto.stepfunctions.parser.asl.component.eval_component"


#: moto's ASL parser warns, for every definition it parses, that ``ToleratedFailurePercentagePath`` has no
#: effect (reprocess.asl.json has one; moto ignores it, AWS applies it): that one message is dropped, any
#: other warning of the parser still shows.
PARSER_LOGGER = "moto.stepfunctions.parser.asl.parse.preprocessor"
TOLERATED_PATH_WARNING = "ToleratedFailurePercentagePath declarations currently have no effect"


def _not_tolerated_path_warning(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith(TOLERATED_PATH_WARNING)


def _install_quiet_engine() -> None:
    logging.getLogger(ENGINE_ERROR_LOGGER).setLevel(logging.CRITICAL)
    logging.getLogger(PARSER_LOGGER).addFilter(_not_tolerated_path_warning)


# -- 10. POST Object behind the policy gate (installed by the gate, not by ``install``) ----------------
#: WSGI environ key the S3 POST-policy gate sets on every request it passes on: the ``CheckedPost`` whose
#: policy it verified, or "" (``imgflow_tools/local/post_policy.py``).
GATE_CHECKED = "imgflow.s3_post_checked"


@dataclass(frozen=True)
class CheckedPost:
    """What the gate checked of a POST Object: where it goes, under which key, which bytes."""

    bucket: str
    key: str
    body: bytes


def guard_s3_post_object() -> None:
    """Behind the POST-policy gate, moto stores a POST Object only as the gate checked it.

    moto takes every POST to a bucket (any addressing style, any body) as an upload; the gate decides what a
    request addresses with moto's own routing functions and hands moto the form it checked, and this makes
    any difference (another bucket, key or body than checked) a refusal, not a bypass. Requests that did not
    pass the gate (no ``GATE_CHECKED`` in the environ) behave as upstream. Idempotent.
    """
    from moto.s3.responses import S3Response

    upstream = S3Response._bucket_response_post
    if getattr(upstream, "imgflow_guard", False):
        return

    def _bucket_response_post(self: Any, request: Any, bucket_name: str) -> Any:
        checked = request.environ.get(GATE_CHECKED)
        if checked is not None and "delete" not in request.args:
            body = self.body.encode() if isinstance(self.body, str) else self.body
            if (
                not isinstance(checked, CheckedPost)
                or checked.bucket != bucket_name
                or self.querystring.get("key") != [checked.key]
                or body != checked.body
            ):
                denied = (
                    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                    "<Message>Access Denied</Message><RequestId>local</RequestId></Error>"
                )
                return 403, {"Content-Type": "application/xml"}, denied
        return upstream(self, request, bucket_name)

    _bucket_response_post.imgflow_guard = True  # type: ignore[attr-defined]
    S3Response._bucket_response_post = _bucket_response_post  # type: ignore[method-assign]


def install() -> None:
    """Apply adaptations 1 to 9, in order (idempotent). Refuses a moto version it was not measured on."""
    global _installed
    with _lock:
        if _installed:
            return
        if moto.__version__ != MOTO_VERSION:
            raise RuntimeError(
                f"imgflow's local mode is pinned to moto {MOTO_VERSION} (found {moto.__version__}): "
                "re-measure the adaptations in imgflow_tools/local/moto_adapter.py before upgrading"
            )
        _install_lambda_invoke()
        _install_event_bridge()
        _install_retry_waits()
        _install_speed()
        _install_atomic_dynamodb()
        # 6. has nothing to install (hooks read by 1. and 2.)
        _install_start_execution_casing()
        _install_concurrency()
        _install_quiet_engine()
        _installed = True
