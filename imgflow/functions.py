"""Lambda functions of the system: handler, ASL placeholder and sizing, for CDK and the local mode."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    #: Dotted path of the handler, relative to the bundle root (which holds ``imgflow/`` and ``tasks/``).
    handler: str
    #: Folder with the task's code, bundled with the shared ``imgflow`` package.
    source: str
    #: The ``${...}`` name its ARN replaces in statemachine/ingest.asl.json (None: not in the workflow).
    placeholder: str | None
    memory_mb: int
    timeout_s: int


TASKS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        "validate", "tasks.validate.handler.lambda_handler", "tasks/validate", "ValidateFunctionArn", 1024, 60
    ),
    FunctionSpec(
        "resize", "tasks.resize.handler.lambda_handler", "tasks/resize", "ResizeFunctionArn", 1769, 120
    ),
    FunctionSpec(
        "extract_meta",
        "tasks.extract_meta.handler.lambda_handler",
        "tasks/extract_meta",
        "ExtractMetaFunctionArn",
        512,
        30,
    ),
    FunctionSpec(
        "record", "tasks.record.handler.lambda_handler", "tasks/record", "RecordFunctionArn", 256, 10
    ),
)
