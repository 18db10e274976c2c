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
    #: Reserved concurrency (None: the account's unreserved pool). The CDK app sets it on the function
    #: (context ``imageTaskConcurrency`` overrides it); the local mode enforces it, as Lambda does.
    reserved_concurrency: int | None = None


# Sizing, from `make bench` (bench/README.md) on a 12 MP photo and the 50 MP / 25 MB input limits:
# - resize 1769 MB = one full vCPU: render is ~250 ms of single-threaded CPU (more vCPUs would not help) and
#   its peak RSS is ~100 MiB on the JPEG path, but a 50 MP RGBA PNG takes 200 MB per copy on the RGB path.
# - validate 1024 MB: a JPEG is checked at 1/8 scale (~32 ms), but PNG/GIF/WebP frames decode in full.
# - extract_meta 512 MB: headers only (a ranged GET for JPEG); the whole object for other formats.
# - record 256 MB: two DynamoDB calls. Timeouts leave ample room over the measured durations; the ASL's
#   TimeoutSeconds match them.
# Reserved concurrency: the tasks that decode images (CPU/memory heavy, bursty) get IMAGE_TASK_CONCURRENCY,
# which caps what an upload storm can take from the account's pool (keeping the API and ``record``
# responsive) and the S3 request rate; an invocation over it is refused (Lambda.TooManyRequestsException)
# and the ASL retries it patiently (docs/operations.md). ``record`` is never reserved: the terminal writes
# must not wait behind the image work.
IMAGE_TASK_CONCURRENCY = 20
TASKS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        "validate",
        "tasks.validate.handler.lambda_handler",
        "tasks/validate",
        "ValidateFunctionArn",
        1024,
        60,
        IMAGE_TASK_CONCURRENCY,
    ),
    FunctionSpec(
        "resize",
        "tasks.resize.handler.lambda_handler",
        "tasks/resize",
        "ResizeFunctionArn",
        1769,
        120,
        IMAGE_TASK_CONCURRENCY,
    ),
    FunctionSpec(
        "extract_meta",
        "tasks.extract_meta.handler.lambda_handler",
        "tasks/extract_meta",
        "ExtractMetaFunctionArn",
        512,
        30,
        IMAGE_TASK_CONCURRENCY,
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


def reserved_concurrency(spec: FunctionSpec, override: int | None = None) -> int | None:
    """The reserved concurrency to deploy ``spec`` with; ``override`` replaces it where one is reserved.

    An override of 0 means "no reservation" (the CDK context key's convention), not "always throttled".
    """
    if spec.reserved_concurrency is None or override is None:
        return spec.reserved_concurrency
    return override or None
