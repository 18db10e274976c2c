"""Scheduled reprocessing: statemachine/reprocess.asl.json, started by an EventBridge Scheduler schedule."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from imgflow.records.table import BY_STATUS
from infra.config import StageConfig
from infra.constructs.storage import Storage
from infra.constructs.workflow import state_machine

REPROCESS = "reprocess"


class Reprocessing(Construct):
    """Query ``by_status`` for FAILED records, start the ingest machine once per record, on a schedule."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        storage: Storage,
        ingest: sfn.IStateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        self.state_machine = state_machine(
            self,
            "StateMachine",
            name=REPROCESS,
            substitutions={
                "TableName": storage.table.table_name,
                "IngestStateMachineArn": ingest.state_machine_arn,
            },
            config=config,
            timeout=Duration.minutes(15),
        )
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"], resources=[f"{storage.table.table_arn}/index/{BY_STATUS}"]
            )
        )
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[ingest.state_machine_arn])
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            description="Retry images whose last run FAILED",
            schedule=scheduler.ScheduleExpression.expression(config.reprocess_schedule),
            target=scheduler_targets.StepFunctionsStartExecution(
                self.state_machine,
                input=scheduler.ScheduleTargetInput.from_object({"trigger": "schedule"}),
                retry_attempts=2,
                max_event_age=Duration.hours(1),
            ),
            enabled=config.reprocess_enabled,
        )
