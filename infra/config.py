"""Stage configuration, read from CDK context (``-c key=value``): nothing here is edited per deployment.

Every key has a default, so ``cdk synth`` works with no context at all. The keys are documented in
infra/README.md (deploy section) and in ``CONTEXT_KEYS``.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Node

from imgflow.config import Limits, Reprocessing, Settings, _formats_from_env

#: Lambda platform for every function. python3.13: the newest runtime both the AWS-managed Powertools
#: layer and Pillow 13 ship wheels for that the code is tested on (py311+); arm64 (Graviton) is ~20%
#: cheaper per GB-second and Pillow ships manylinux aarch64 wheels. x86_64 is one context key away.
PYTHON_VERSION = "3.13"
RUNTIME = lambda_.Runtime.PYTHON_3_13
#: Powertools release the layer is pinned to (matches requirements/dev.lock, what the tests run against).
POWERTOOLS_VERSION = "3.37.0"

CONTEXT_KEYS: dict[str, str] = {
    "stage": "name of the deployment (dev, prod, ...): stack name imgflow-<stage>, tags, log group names",
    "existingBucketName": "use this existing bucket for uploads instead of creating one",
    "uploadsPrefix": "key prefix of originals in the uploads bucket (default uploads/)",
    "deletionProtection": "DynamoDB deletion protection (default true)",
    "retainData": "keep buckets, table and user pool when the stack is deleted (default true)",
    "allowedOrigins": "comma-separated browser origins for the API and bucket CORS (default *)",
    "lambdaArchitecture": "arm64 (default) or x86_64",
    "powertoolsVersion": "Powertools layer version in the SSM path, or 'latest' (default "
    + POWERTOOLS_VERSION
    + ")",
    "imageTaskConcurrency": "reserved concurrency of validate/resize/extract_meta, 0 = none "
    "(default imgflow.workflow.functions.IMAGE_TASK_CONCURRENCY, 20)",
    "apiThrottleRate": "API steady-state requests per second (default 50)",
    "apiThrottleBurst": "API burst (default 100)",
    "reprocessSchedule": "Scheduler expression of the repair (reprocess failed, stuck); default rate(1 hour)",
    "reprocessEnabled": "whether the failed/stuck schedules are enabled (default true)",
    "reprocessStaleSchedule": "Scheduler expression for reprocess --mode stale (default: none, schedule off)",
    "reprocessMaxConcurrency": "ingest runs a reprocess run keeps going at once (default 20)",
    "reprocessToleratedFailurePercentage": "failed children the reprocess Map tolerates, % (default 10)",
    "logRetentionDays": "CloudWatch Logs retention of every log group (default 30)",
    "rejectedUploadDays": "days before an original tagged imgflow-verdict=rejected expires (default 7)",
    "alarmEmail": "e-mail address subscribed to the alarm topic (optional)",
    "maxBytes": "largest accepted upload, bytes (default from imgflow.config.Limits)",
    "maxPixels": "an extra cap on pixels over the per-format budgets of imgflow/image/budget.py (0: none)",
    "renditions": "JSON list of renditions (IMGFLOW_RENDITIONS), default imgflow.config.DEFAULT_RENDITIONS",
    "formats": "accepted formats, comma-separated Pillow ids (IMGFLOW_FORMATS), default "
    "imgflow.config.DEFAULT_FORMATS",
    "reprocessMaxImages": "images one reprocess run selects at most; the next run takes the rest (default "
    f"{Reprocessing.max_images})",
    "reprocessStuckAfterSeconds": "how long a PENDING or PROCESSING record waits before the repair takes it "
    f"(default {Reprocessing.stuck_after_s})",
}

#: CloudWatch Logs retention periods (days) by CDK's enum member names.
_RETENTION: dict[int, str] = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    120: "FOUR_MONTHS",
    150: "FIVE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS",
    731: "TWO_YEARS",
    1096: "THREE_YEARS",
    1827: "FIVE_YEARS",
    2192: "SIX_YEARS",
    2557: "SEVEN_YEARS",
    2922: "EIGHT_YEARS",
    3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}
_STAGE = re.compile(r"^[a-z][a-z0-9-]{0,19}$")


class ConfigError(ValueError):
    """A context value the app cannot use; its message is one line for the person who typed it."""


def _unknown_keys_message(unknown: list[str]) -> str:
    parts = []
    for key in unknown:
        close = difflib.get_close_matches(key, CONTEXT_KEYS, n=1, cutoff=0.6)
        parts.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return (
        f"unknown context key {', '.join(parts)}; the keys are {', '.join(sorted(CONTEXT_KEYS))} "
        "(infra/README.md)"
    )


def _bool(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _int(value: Any, default: int) -> int:
    return default if value is None or value == "" else int(value)


def _optional_int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


@dataclass(frozen=True)
class StageConfig:
    """Everything that differs between deployments."""

    stage: str = "dev"
    existing_bucket_name: str | None = None
    uploads_prefix: str = Settings.uploads_prefix
    deletion_protection: bool = True
    retain_data: bool = True
    allowed_origins: tuple[str, ...] = ("*",)
    architecture: str = "arm64"
    powertools_version: str = POWERTOOLS_VERSION
    #: None: each function's ``FunctionSpec.reserved_concurrency`` (imgflow/workflow/functions.py, also what
    #: the local mode enforces); a number replaces it on the image tasks (0 = no reservation).
    image_task_concurrency: int | None = None
    api_throttle_rate: int = 50
    api_throttle_burst: int = 100
    reprocess_schedule: str = "rate(1 hour)"
    reprocess_enabled: bool = True
    reprocess_stale_schedule: str | None = None
    reprocess_max_concurrency: int = 20
    reprocess_tolerated_failure_percentage: float = 10.0
    log_retention_days: int = 30
    rejected_upload_days: int = 7
    alarm_email: str | None = None
    max_bytes: int = Limits.max_bytes
    max_pixels: int = Limits.max_pixels
    renditions_json: str | None = None
    #: The accepted formats, normalised (``IMGFLOW_FORMATS`` on every function).
    formats: tuple[str, ...] = Limits.formats
    reprocess_max_images: int = Reprocessing.max_images
    reprocess_stuck_after_s: int = Reprocessing.stuck_after_s

    def __post_init__(self) -> None:
        if not _STAGE.match(self.stage):
            raise ValueError(f"stage {self.stage!r}: 1-20 chars of [a-z0-9-], starting with a letter")
        if self.architecture not in ("arm64", "x86_64"):
            raise ValueError(f"lambdaArchitecture {self.architecture!r}: arm64 or x86_64")
        if not self.uploads_prefix.endswith("/") or self.uploads_prefix.startswith("/"):
            raise ValueError(f"uploadsPrefix {self.uploads_prefix!r} must look like 'uploads/'")
        if self.log_retention_days not in _RETENTION:
            raise ValueError(f"logRetentionDays {self.log_retention_days}: one of {sorted(_RETENTION)}")
        if self.renditions_json is not None:
            json.loads(self.renditions_json)
        if self.reprocess_max_images < 1 or self.reprocess_stuck_after_s < 0:
            raise ValueError("reprocessMaxImages must be at least 1, reprocessStuckAfterSeconds at least 0")

    @property
    def limits(self) -> Limits:
        """The input limits every function enforces (and the pipeline version derives from)."""
        return Limits(max_bytes=self.max_bytes, max_pixels=self.max_pixels, formats=self.formats)

    @classmethod
    def from_node(cls, node: Node) -> StageConfig:
        """Read every key from the construct tree's context (cdk.json, ``-c``, or ``App(context=...)``)."""
        unknown = [k for k in _context_keys(node) if k not in CONTEXT_KEYS]
        if unknown:
            raise ConfigError(_unknown_keys_message(unknown))
        get = node.try_get_context
        origins = get("allowedOrigins")
        if isinstance(origins, str):
            origins = [o.strip() for o in origins.split(",") if o.strip()]
        renditions = get("renditions")
        if renditions is not None and not isinstance(renditions, str):
            renditions = json.dumps(renditions)
        formats = get("formats")
        if isinstance(formats, list):
            formats = ",".join(formats)
        d = cls()
        return cls(
            stage=get("stage") or d.stage,
            existing_bucket_name=get("existingBucketName") or None,
            uploads_prefix=get("uploadsPrefix") or d.uploads_prefix,
            deletion_protection=_bool(get("deletionProtection"), d.deletion_protection),
            retain_data=_bool(get("retainData"), d.retain_data),
            allowed_origins=tuple(origins) if origins else d.allowed_origins,
            architecture=get("lambdaArchitecture") or d.architecture,
            powertools_version=get("powertoolsVersion") or d.powertools_version,
            image_task_concurrency=_optional_int(get("imageTaskConcurrency")),
            api_throttle_rate=_int(get("apiThrottleRate"), d.api_throttle_rate),
            api_throttle_burst=_int(get("apiThrottleBurst"), d.api_throttle_burst),
            reprocess_schedule=get("reprocessSchedule") or d.reprocess_schedule,
            reprocess_enabled=_bool(get("reprocessEnabled"), d.reprocess_enabled),
            reprocess_stale_schedule=get("reprocessStaleSchedule") or None,
            reprocess_max_concurrency=_int(get("reprocessMaxConcurrency"), d.reprocess_max_concurrency),
            reprocess_tolerated_failure_percentage=float(
                get("reprocessToleratedFailurePercentage") or d.reprocess_tolerated_failure_percentage
            ),
            log_retention_days=_int(get("logRetentionDays"), d.log_retention_days),
            rejected_upload_days=_int(get("rejectedUploadDays"), d.rejected_upload_days),
            alarm_email=get("alarmEmail") or None,
            max_bytes=_int(get("maxBytes"), d.max_bytes),
            max_pixels=_int(get("maxPixels"), d.max_pixels),
            renditions_json=renditions,
            formats=_formats_from_env(formats) if formats else d.formats,
            reprocess_max_images=_int(get("reprocessMaxImages"), d.reprocess_max_images),
            reprocess_stuck_after_s=_int(get("reprocessStuckAfterSeconds"), d.reprocess_stuck_after_s),
        )

    @property
    def log_retention(self) -> logs.RetentionDays:
        return logs.RetentionDays[_RETENTION[self.log_retention_days]]

    @property
    def lambda_architecture(self) -> lambda_.Architecture:
        return lambda_.Architecture.ARM_64 if self.architecture == "arm64" else lambda_.Architecture.X86_64

    @property
    def pip_platforms(self) -> tuple[str, ...]:
        """Wheel tags the Lambda runtime (Amazon Linux 2023, glibc 2.34) can load, newest first."""
        arch = "aarch64" if self.architecture == "arm64" else "x86_64"
        return tuple(f"{tag}_{arch}" for tag in ("manylinux_2_34", "manylinux_2_28", "manylinux2014"))

    @property
    def powertools_layer_parameter(self) -> str:
        """The public SSM parameter holding the AWS-managed Powertools layer ARN for this platform."""
        return (
            f"/aws/service/powertools/python/{self.architecture}/python{PYTHON_VERSION}/"
            f"{self.powertools_version}"
        )


def _context_keys(node: Node) -> list[str]:
    """Context keys that look like ours (CDK's own keys contain ':' or start with '@')."""
    try:
        all_context = node.get_all_context()
    except AttributeError:  # pragma: no cover - older constructs
        return []
    return [k for k in all_context if ":" not in k and not k.startswith("@") and not k.startswith("aws-cdk")]
