"""The ingest state machine (statemachine/ingest.asl.json, inlined) and the upload rule that starts it."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from imgflow.workflow.asl import INGEST, definition_text, placeholders, upload_event_pattern
from imgflow.workflow.functions import TASKS
from infra.config import StageConfig
from infra.constructs.storage import Storage
from infra.grants import STATE_MACHINE_PLATFORM, uncalled
from infra.nag import acknowledge


def checked_substitutions(name: str, values: Mapping[str, str]) -> dict[str, str]:
    """``values`` if they are exactly the placeholders of statemachine/<name>.asl.json (CDK won't check)."""
    expected = placeholders(definition_text(name))
    if expected != set(values):
        raise ValueError(f"{name}.asl.json expects {sorted(expected)}, got substitutions {sorted(values)}")
    return dict(values)


def state_machine(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    substitutions: Mapping[str, str],
    config: StageConfig,
    timeout: Duration,
) -> sfn.StateMachine:
    """A Standard state machine from the ASL file, logging ALL with execution data, X-Ray on."""
    log_group = logs.LogGroup(
        scope,
        f"{construct_id}Logs",
        log_group_name=f"/aws/vendedlogs/states/imgflow-{config.stage}-{name}",
        retention=config.log_retention,
        removal_policy=RemovalPolicy.DESTROY,
    )
    machine = sfn.StateMachine(
        scope,
        construct_id,
        state_machine_name=f"imgflow-{config.stage}-{name}",
        state_machine_type=sfn.StateMachineType.STANDARD,
        definition_body=sfn.DefinitionBody.from_string(definition_text(name)),
        definition_substitutions=checked_substitutions(name, substitutions),
        logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        tracing_enabled=True,
        timeout=timeout,
    )
    acknowledge(
        machine.role,
        "AwsSolutions-IAM5[Resource::*]",
        "CloudWatch Logs vended-log delivery (logs:*LogDelivery*, DescribeLogGroups/ResourcePolicies) and "
        "X-Ray tracing (xray:PutTraceSegments...) do not support resource-level permissions.",
    )
    uncalled(machine.role, STATE_MACHINE_PLATFORM)
    return machine


class IngestWorkflow(Construct):
    """Upload event -> rule (retries, DLQ) -> Standard state machine -> the four task functions."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        storage: Storage,
        tasks: Mapping[str, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        by_placeholder = {spec.placeholder: tasks[spec.name] for spec in TASKS if spec.placeholder}
        self.name = f"imgflow-{config.stage}-{INGEST}"
        self.state_machine = state_machine(
            self,
            "StateMachine",
            name=INGEST,
            substitutions={key: fn.function_arn for key, fn in by_placeholder.items()},
            config=config,
            timeout=Duration.minutes(30),
        )
        # The ASL invokes unqualified function ARNs: exactly those, no ':*' versions/aliases.
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=sorted({fn.function_arn for fn in by_placeholder.values()}, key=str),
            )
        )

        self.dead_letter_queue = sqs.Queue(
            self,
            "UploadEventsDlq",
            enforce_ssl=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.dead_letter_queue,
            "AwsSolutions-SQS3",
            "This queue is the dead-letter queue of the upload rule's target; a DLQ of a DLQ adds nothing.",
        )
        pattern = upload_event_pattern(storage.uploads.bucket_name, config.uploads_prefix)
        if set(pattern) - {"source", "detail-type", "detail"}:
            raise ValueError(
                f"upload_event_pattern has fields this construct does not map: {sorted(pattern)}"
            )
        self.rule = events.Rule(
            self,
            "UploadRule",
            description="S3 Object Created under the uploads prefix -> ingest workflow",
            event_pattern=events.EventPattern(
                source=pattern["source"],  # type: ignore[arg-type]
                detail_type=pattern["detail-type"],  # type: ignore[arg-type]
                detail=pattern["detail"],  # type: ignore[arg-type]
            ),
            targets=[
                targets.SfnStateMachine(
                    self.state_machine,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=20,
                    max_event_age=Duration.hours(6),
                )
            ],
        )
