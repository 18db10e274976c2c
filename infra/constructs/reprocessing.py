"""Reprocessing: statemachine/reprocess.asl.json, its Select/Summarize function, and the schedules.

EventBridge Scheduler runs ``failed`` and ``stuck`` (the repair; ``stuck`` also drains the upload rule's
dead-letter queue) and, if configured, ``stale``. Every grant names the narrowest resource.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from imgflow.records.table import BY_OWNER, BY_STATUS
from imgflow.workflow.asl import REPROCESS
from imgflow.workflow.functions import REPROCESS_FUNCTION
from infra.config import StageConfig
from infra.constructs.functions import OBJECTS_REASON, Functions, nag_arn, task_code
from infra.constructs.storage import Storage
from infra.constructs.workflow import state_machine
from infra.grants import uncalled
from infra.nag import acknowledge

#: Where runs keep manifests, summaries and the Map's result files (tasks/reprocess/selection.py).
RUNS_PREFIX = ".reprocess/"


class Reprocessing(Construct):
    """Select (Query, manifest) -> Distributed Map of ingest runs -> Summarize; on schedules."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        storage: Storage,
        functions: Functions,
        ingest: sfn.IStateMachine,
        ingest_name: str,
        upload_dlq: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.function = functions.make(
            "Function",
            scope=self,
            handler=REPROCESS_FUNCTION.handler,
            code=task_code(config, REPROCESS_FUNCTION.source),
            memory_mb=REPROCESS_FUNCTION.memory_mb,
            timeout_s=REPROCESS_FUNCTION.timeout_s,
            description=f"imgflow reprocess select/summarize ({config.stage})",
            extra_environment={
                "IMGFLOW_UPLOAD_DLQ_URL": upload_dlq.queue_url,
                "IMGFLOW_REPROCESS_MAX_CONCURRENCY": str(config.reprocess_max_concurrency),
                "IMGFLOW_REPROCESS_TOLERATED_FAILURE_PERCENTAGE": str(
                    config.reprocess_tolerated_failure_percentage
                ),
                "IMGFLOW_REPROCESS_MAX_IMAGES": str(config.reprocess_max_images),
                "IMGFLOW_REPROCESS_STUCK_AFTER_S": str(config.reprocess_stuck_after_s),
            },
        )
        table = storage.table.table_arn
        runs = storage.renditions.arn_for_objects(f"{RUNS_PREFIX}*")
        uploads = storage.uploads_objects_arn()
        ingest_executions = stack.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{ingest_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        functions.allow(
            self.function,
            [
                # Select: Query pages of the indexes (never a Scan), PENDING -> EXPIRED.
                # Summarize: BatchGetItem of the records.
                iam.PolicyStatement(
                    actions=["dynamodb:Query"], resources=storage.index_arns(BY_OWNER, BY_STATUS)
                ),
                iam.PolicyStatement(
                    actions=["dynamodb:UpdateItem", "dynamodb:BatchGetItem"], resources=[table]
                ),
                # Is a PENDING record's original there? (HeadObject is authorised by GetObject; without
                # ListBucket a missing original is a 403 and the stuck repair would stop at the first one.)
                iam.PolicyStatement(actions=["s3:GetObject"], resources=[uploads]),
                storage.list_uploads_statement(),
                # The run's manifest, selection and summary. A new run reads its selection.json first to
                # tell a restart from a start: without ListBucket that missing key is a 403, not a 404, and
                # every run failed (found by the local IAM enforcement).
                iam.PolicyStatement(actions=["s3:GetObject", "s3:PutObject"], resources=[runs]),
                iam.PolicyStatement(actions=["s3:ListBucket"], resources=[storage.renditions.bucket_arn]),
                # Is a PROCESSING record's run still alive?
                iam.PolicyStatement(actions=["states:DescribeExecution"], resources=[ingest_executions]),
                # The upload rule's dead letters are drained into the stuck repair.
                iam.PolicyStatement(
                    actions=["sqs:ReceiveMessage", "sqs:DeleteMessage"], resources=[upload_dlq.queue_arn]
                ),
            ],
            wildcards={
                uploads: OBJECTS_REASON,
                runs: "Only the .reprocess/ prefix of the renditions bucket; run ids are chosen at run time.",
                ingest_executions: "DescribeExecution of the ingest machine's executions only; the name "
                "comes from the image record at run time.",
            },
        )

        self.state_machine = state_machine(
            self,
            "StateMachine",
            name=REPROCESS,
            substitutions={
                "ReprocessFunctionArn": self.function.function_arn,
                "IngestStateMachineArn": ingest.state_machine_arn,
                "RunsBucketName": storage.renditions.bucket_name,
            },
            config=config,
            timeout=Duration.hours(24),
        )
        own_executions = stack.format_arn(
            service="states",
            resource="execution",
            resource_name=f"imgflow-{config.stage}-{REPROCESS}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        own_machine = stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=f"imgflow-{config.stage}-{REPROCESS}",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        managed_rule = stack.format_arn(
            service="events",
            resource="rule",
            resource_name="StepFunctionsGetEventsForStepFunctionsExecutionRule",
        )
        role = self.state_machine.role
        for statement in (
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.function.function_arn]),
            # ItemReader (manifest) and ResultWriter (Map result files) under .reprocess/ only.
            iam.PolicyStatement(
                actions=[
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                resources=[runs],
            ),
            # .sync:2 children: start, follow, stop (when the run is stopped) ingest executions.
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[ingest.state_machine_arn]),
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:StopExecution"], resources=[ingest_executions]
            ),
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[managed_rule],
            ),
            # The Distributed Map runs its item batches as child executions of this machine.
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[own_machine]),
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:StopExecution"], resources=[own_executions]
            ),
        ):
            role.add_to_principal_policy(statement)
        # What Step Functions does with this role on its own: imgflow's states never make these calls.
        uncalled(
            role,
            {
                "s3:AbortMultipartUpload": "The Distributed Map's ResultWriter writes large result files "
                "in parts and cleans up a failed part upload; no state calls it.",
                "s3:ListMultipartUploadParts": "The ResultWriter's multipart writes of large result files.",
                "events:*": "The .sync:2 integration's managed rule (StepFunctionsGetEventsForStepFunctions"
                "ExecutionRule), created and read by Step Functions to follow the child executions.",
            },
        )
        uncalled(
            role,
            {
                "states:StopExecution": "Step Functions stops the .sync:2 child (ingest) executions when a "
                "reprocess run is stopped or fails; no state calls StopExecution.",
            },
            resource=ingest_executions,
        )
        uncalled(
            role,
            {
                "states:*": "The Distributed Map runs its item batches as child executions of this machine "
                "(started, followed and stopped by Step Functions); the local engine runs them inline.",
            },
            resource=own_machine,
        )
        uncalled(
            role,
            {
                "states:*": "The Distributed Map's child executions of this machine, followed and stopped "
                "by Step Functions; the local engine runs the batches inline.",
            },
            resource=own_executions,
        )
        for arn, reason in {
            runs: "Only the .reprocess/ prefix of the renditions bucket (manifests, Map results).",
            ingest_executions: "Executions of the ingest machine only; their names are made per run.",
            own_executions: "The Distributed Map's child executions, named by Step Functions at run time.",
        }.items():
            acknowledge(role, f"AwsSolutions-IAM5[Resource::{nag_arn(self, arn)}]", reason)

        self.schedules: dict[str, scheduler.Schedule] = {}
        for mode, expression, enabled in (
            ("failed", config.reprocess_schedule, config.reprocess_enabled),
            ("stuck", config.reprocess_schedule, config.reprocess_enabled),
            (
                "stale",
                config.reprocess_stale_schedule or "rate(1 day)",
                bool(config.reprocess_stale_schedule),
            ),
        ):
            self.schedules[mode] = scheduler.Schedule(
                self,
                f"{mode.title()}Schedule",
                description=f"imgflow reprocess --mode {mode}",
                schedule=scheduler.ScheduleExpression.expression(expression),
                target=scheduler_targets.StepFunctionsStartExecution(
                    self.state_machine,
                    input=scheduler.ScheduleTargetInput.from_object({"mode": mode}),
                    retry_attempts=2,
                    max_event_age=Duration.hours(1),
                ),
                enabled=enabled,
            )
