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


# Sizing, from `make bench` (bench/README.md) on a 12 MP photo and the 50 MP / 25 MB input limits:
# - resize 1769 MB = one full vCPU: render is ~250 ms of single-threaded CPU (more vCPUs would not help) and
#   its peak RSS is ~100 MiB on the JPEG path, but a 50 MP RGBA PNG takes 200 MB per copy on the RGB path.
# - validate 1024 MB: a JPEG is checked at 1/8 scale (~32 ms), but PNG/GIF/WebP frames decode in full.
# - extract_meta 512 MB: headers only (a ranged GET for JPEG); the whole object for other formats.
# - record 256 MB: two DynamoDB calls. Timeouts leave ample room over the measured durations; the ASL's
#   TimeoutSeconds match them.
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

#: The Select and Summarize states of statemachine/reprocess.asl.json (one function, two actions).
#: 1024 MB: a manifest of 100,000 items is ~40 MB of JSON; 900 s: selection pages through the indexes.
REPROCESS_FUNCTION = FunctionSpec(
    "reprocess",
    "tasks.reprocess.handler.lambda_handler",
    "tasks/reprocess",
    "ReprocessFunctionArn",
    1024,
    900,
)
