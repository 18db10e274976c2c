"""Every Step Functions call of the runtime: start, stop, status and timelines of executions.

Errors come out translated (``imgflow.aws.translated_errors``): throttling and 5xx are ``StorageThrottled`` /
``TransientError`` (the API answers them with 503), so no caller handles botocore's errors itself.
The operator tools pass their own client (``client=``); the runtime uses the shared one.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from imgflow import aws
from imgflow.workflow import history

#: Codes of an execution Step Functions does not know (expired from history after 90 days, or never was).
UNKNOWN_CODES = frozenset({"ExecutionDoesNotExist", "InvalidArn"})


def _sfn(client: Any | None) -> Any:
    return client or aws.client("stepfunctions")


def _unknown(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in UNKNOWN_CODES


def start(state_machine_arn: str, name: str, payload: str, *, client: Any | None = None) -> str:
    """Start an execution named ``name`` with ``payload`` (JSON text); returns its ARN."""
    with aws.translated_errors():
        started = _sfn(client).start_execution(stateMachineArn=state_machine_arn, name=name, input=payload)
    return str(started["executionArn"])


def stop(execution_arn: str, cause: str, *, client: Any | None = None) -> bool:
    """Stop a running execution; False when it had already ended or is unknown."""
    try:
        with aws.translated_errors():
            _sfn(client).stop_execution(executionArn=execution_arn, cause=cause)
    except ClientError as exc:
        if _unknown(exc) or exc.response.get("Error", {}).get("Code") == "ValidationException":
            return False
        raise
    return True


def status(execution_arn: str, *, client: Any | None = None) -> str | None:
    """RUNNING, SUCCEEDED, ...; None when the execution is unknown."""
    try:
        with aws.translated_errors():
            return str(_sfn(client).describe_execution(executionArn=execution_arn)["status"])
    except ClientError as exc:
        if _unknown(exc):
            return None
        raise


def timeline(execution_arn: str, *, client: Any | None = None) -> dict[str, Any] | None:
    """The execution's timeline (``imgflow.workflow.history``); None when the execution is unknown."""
    try:
        with aws.translated_errors():
            return history.timeline(_sfn(client), execution_arn)
    except ClientError as exc:
        if _unknown(exc):
            return None
        raise
