"""The Lambda functions: the four tasks from ``imgflow.workflow.functions.TASKS`` and a factory the API uses.

Each function gets its own role holding only what its code calls (no managed policies), its own log group,
the AWS-managed Powertools layer, X-Ray tracing and the ``IMGFLOW_*`` environment ``imgflow.config`` reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from imgflow.config import Settings, _renditions_from_env
from imgflow.records.table import BY_CONTENT
from imgflow.workflow.functions import TASKS, FunctionSpec, reserved_concurrency
from infra.bundling import python_code
from infra.config import PYTHON_VERSION, RUNTIME, StageConfig
from infra.constructs.storage import Storage
from infra.grants import FUNCTION_PLATFORM, uncalled
from infra.nag import acknowledge

TASK_REQUIREMENTS = "requirements/lambda.txt"


#: Why an object-ARN wildcard (``<bucket>/uploads/*``, ``<bucket>/*``) is as narrow as it gets.
OBJECTS_REASON = (
    "Object-level actions on the keys of one bucket (originals: only its uploads prefix); each key holds "
    "the owner and image id, only known at run time. No bucket-level or other-bucket access."
)


def lambda_code(config: StageConfig, sources: Sequence[str], requirements: str | None) -> lambda_.Code:
    """A bundle for the stage's runtime and platforms: ``sources``, ``imgflow``, ``requirements``' wheels."""
    return python_code(
        list(sources),
        requirements=requirements,
        platforms=config.pip_platforms,
        python_version=PYTHON_VERSION,
        runtime=RUNTIME,
    )


def task_code(config: StageConfig, source: str) -> lambda_.Code:
    """A task's bundle: ``tasks/__init__.py``, the task's own ``source`` and the task wheels."""
    return lambda_code(config, ["tasks/__init__.py", source], TASK_REQUIREMENTS)


def _pascal(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


def nag_arn(scope: Construct, arn: str) -> str:
    """How cdk-nag prints a resource ARN in a finding id (``<LogicalId.Arn>`` for a GetAtt)."""
    resolved = Stack.of(scope).resolve(arn)
    if isinstance(resolved, str):
        return resolved

    def render(part: object) -> str:
        if isinstance(part, str):
            return part
        if isinstance(part, dict) and "Fn::GetAtt" in part:
            logical, attr = part["Fn::GetAtt"]
            return f"<{logical}.{attr}>"
        if isinstance(part, dict) and "Ref" in part:
            return f"<{part['Ref']}>"
        raise ValueError(f"cannot render {part!r}")

    if isinstance(resolved, dict) and "Fn::Join" in resolved:
        sep, parts = resolved["Fn::Join"]
        return sep.join(render(p) for p in parts)
    return render(resolved)


class Functions(Construct):
    """The task functions (``self.tasks[name]``) and ``make`` for any other function of the system."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, storage: Storage) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.storage = storage
        layer_arn = ssm.StringParameter.value_for_string_parameter(self, config.powertools_layer_parameter)
        self.powertools = lambda_.LayerVersion.from_layer_version_arn(self, "Powertools", layer_arn)
        env = {
            "IMGFLOW_UPLOADS_BUCKET": storage.uploads.bucket_name,
            "IMGFLOW_RENDITIONS_BUCKET": storage.renditions.bucket_name,
            "IMGFLOW_TABLE": storage.table.table_name,
            "IMGFLOW_UPLOADS_PREFIX": config.uploads_prefix,
            "IMGFLOW_MAX_BYTES": str(config.max_bytes),
            "IMGFLOW_MAX_PIXELS": str(config.max_pixels),
            # The same derivation the tasks make at run time, visible on each function.
            # Always written, so a local configuration's formats reach the functions as a deploy's would.
            "IMGFLOW_FORMATS": ",".join(config.formats),
            "IMGFLOW_PIPELINE_VERSION": Settings(
                renditions=_renditions_from_env(config.renditions_json), limits=config.limits
            ).pipeline_version,
            "POWERTOOLS_SERVICE_NAME": "imgflow",
            "POWERTOOLS_METRICS_NAMESPACE": "imgflow",
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        if config.renditions_json:
            env["IMGFLOW_RENDITIONS"] = config.renditions_json
        self.environment = env

        self.tasks: dict[str, lambda_.Function] = {}
        for spec in TASKS:
            self.tasks[spec.name] = self._task(spec)

        uploads, renditions = storage.uploads_objects_arn(), storage.renditions_objects_arn()
        read_originals = iam.PolicyStatement(actions=["s3:GetObject"], resources=[uploads])
        # HeadObject is authorised by GetObject. Without ListBucket S3 answers 403, not 404, for a key that
        # is not there: an original deleted meanwhile would end FAILED (AccessDenied), not SourceMissing.
        missing_is_404 = storage.list_uploads_statement()
        # validate looks up the owner's image with the same bytes (exact duplicates: one Query).
        same_bytes = iam.PolicyStatement(actions=["dynamodb:Query"], resources=storage.index_arns(BY_CONTENT))
        self.allow(
            "validate", [read_originals, missing_is_404, same_bytes], wildcards={uploads: OBJECTS_REASON}
        )
        self.allow("extract_meta", [read_originals, missing_is_404], wildcards={uploads: OBJECTS_REASON})
        self.allow(
            "resize",
            [
                read_originals,
                missing_is_404,
                # Writes its renditions; removes them again if the image was deleted meanwhile (checked
                # with one GetItem of the record).
                iam.PolicyStatement(actions=["s3:PutObject", "s3:DeleteObject"], resources=[renditions]),
                iam.PolicyStatement(actions=["dynamodb:GetItem"], resources=[storage.table.table_arn]),
            ],
            wildcards={uploads: OBJECTS_REASON, renditions: OBJECTS_REASON},
        )
        self.allow(
            "record",
            [
                # BatchWriteItem: the band items of a PROCESSED image's perceptual hash.
                iam.PolicyStatement(
                    actions=["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"],
                    resources=[storage.table.table_arn],
                ),
                # A duplicate's renditions: server-side copies of the first image's (Reuse).
                iam.PolicyStatement(actions=["s3:GetObject", "s3:PutObject"], resources=[renditions]),
                # Tags a rejected original for the lifecycle rule that expires rejected uploads.
                iam.PolicyStatement(actions=["s3:PutObjectTagging"], resources=[uploads]),
                # After the record switched: removes the renditions it no longer lists, and what a run
                # that lost (superseded, deleted) or failed wrote under its own prefix (listed).
                iam.PolicyStatement(actions=["s3:DeleteObject"], resources=[renditions]),
                iam.PolicyStatement(actions=["s3:ListBucket"], resources=[storage.renditions.bucket_arn]),
            ],
            wildcards={uploads: OBJECTS_REASON, renditions: OBJECTS_REASON},
        )

    def _task(self, spec: FunctionSpec) -> lambda_.Function:
        # The same figure the local mode enforces (imgflow/workflow/functions.py), unless the stage
        # overrides it.
        reserved = reserved_concurrency(spec, self.config.image_task_concurrency)
        return self.make(
            _pascal(spec.name),
            handler=spec.handler,
            code=task_code(self.config, spec.source),
            memory_mb=spec.memory_mb,
            timeout_s=spec.timeout_s,
            reserved_concurrency=reserved,
            description=f"imgflow {spec.name} task ({self.config.stage})",
        )

    def make(
        self,
        construct_id: str,
        *,
        handler: str,
        code: lambda_.Code,
        memory_mb: int,
        timeout_s: int,
        description: str,
        reserved_concurrency: int | None = None,
        extra_environment: dict[str, str] | None = None,
        scope: Construct | None = None,
    ) -> lambda_.Function:
        """A function with its own least-privilege role and log group (grant it access with ``allow``)."""
        scope = scope or self
        log_group = logs.LogGroup(
            scope,
            f"{construct_id}Logs",
            retention=self.config.log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            scope,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"imgflow {construct_id}: only what its code calls",
        )
        log_group.grant_write(role)
        uncalled(role, FUNCTION_PLATFORM)
        function = lambda_.Function(
            scope,
            construct_id,
            runtime=RUNTIME,
            architecture=self.config.lambda_architecture,
            handler=handler,
            code=code,
            memory_size=memory_mb,
            timeout=Duration.seconds(timeout_s),
            role=role,
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE,
            layers=[self.powertools],
            environment={**self.environment, **(extra_environment or {})},
            reserved_concurrent_executions=reserved_concurrency,
            description=description,
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) support no resource-level "
            "permissions; that statement is the only one with Resource '*'.",
        )
        acknowledge(
            function,
            "AwsSolutions-L1",
            f"Pinned to python{PYTHON_VERSION} on purpose: the newest runtime the AWS-managed Powertools "
            "layer, the Pillow wheels and the tested code base all support together; bump with them.",
        )
        return function

    def allow(
        self,
        name_or_function: str | lambda_.Function,
        statements: Sequence[iam.PolicyStatement],
        *,
        wildcards: Mapping[str, str],
    ) -> None:
        """Attach ``statements`` to a function's role; acknowledge each wildcard resource (ARN -> reason)."""
        function = self.tasks[name_or_function] if isinstance(name_or_function, str) else name_or_function
        role = function.role
        assert role is not None
        for statement in statements:
            role.add_to_principal_policy(statement)
        for arn, reason in wildcards.items():
            acknowledge(role, f"AwsSolutions-IAM5[Resource::{nag_arn(self, arn)}]", reason)
