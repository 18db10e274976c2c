"""Alarms (failed executions, DLQ depth, Lambda errors/throttles, API 5xx) to an SNS topic; a dashboard."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import StageConfig

FIVE_MINUTES = Duration.minutes(5)
#: validate fails its invocation for every rejected upload (by design: the ASL catches it), so its error
#: count alarms only on a burst; the other functions alarm on the first error.
ERROR_THRESHOLDS = {"Validate": 20}


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        state_machines: Mapping[str, sfn.StateMachine],
        functions: Mapping[str, lambda_.Function],
        dead_letter_queue: sqs.IQueue,
        http_api: apigwv2.HttpApi,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self, "AlarmTopic", display_name=f"imgflow {config.stage} alarms", enforce_ssl=True
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        action = cw_actions.SnsAction(self.topic)
        self.alarms: list[cw.Alarm] = []

        def alarm(name: str, metric: cw.IMetric, threshold: float, description: str) -> None:
            created = cw.Alarm(
                self,
                name,
                metric=metric,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                alarm_description=f"imgflow {config.stage}: {description}",
            )
            created.add_alarm_action(action)
            self.alarms.append(created)

        for name, machine in state_machines.items():
            alarm(
                f"{name}ExecutionsFailed",
                machine.metric_failed(period=FIVE_MINUTES, statistic="Sum"),
                1,
                f"{name} executions failed (an image ended FAILED, or its record could not be written)",
            )
            alarm(
                f"{name}ExecutionsTimedOut",
                machine.metric_timed_out(period=FIVE_MINUTES, statistic="Sum"),
                1,
                f"{name} executions timed out",
            )
        alarm(
            "UploadEventsDlqDepth",
            dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=FIVE_MINUTES, statistic="Max"
            ),
            1,
            "upload events could not start the ingest workflow (see the DLQ)",
        )
        for name, function in functions.items():
            alarm(
                f"{name}Errors",
                function.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                ERROR_THRESHOLDS.get(name, 1),
                f"{name} function errors",
            )
            alarm(
                f"{name}Throttles",
                function.metric_throttles(period=FIVE_MINUTES, statistic="Sum"),
                1,
                f"{name} function throttled",
            )
        alarm(
            "Api5xx",
            http_api.metric_server_error(period=FIVE_MINUTES, statistic="Sum"),
            5,
            "API 5xx responses",
        )

        dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=f"imgflow-{config.stage}")
        dashboard.add_widgets(
            *[
                cw.GraphWidget(
                    title=f"{name} executions",
                    left=[
                        machine.metric_started(period=FIVE_MINUTES),
                        machine.metric_succeeded(period=FIVE_MINUTES),
                        machine.metric_failed(period=FIVE_MINUTES),
                    ],
                    width=8,
                )
                for name, machine in state_machines.items()
            ],
            cw.GraphWidget(
                title="Images by outcome",
                left=[
                    cw.Metric(
                        namespace="imgflow",
                        metric_name=f"Images{status}",
                        dimensions_map={"service": "imgflow"},
                        statistic="Sum",
                        period=FIVE_MINUTES,
                    )
                    for status in ("Processed", "Rejected", "Failed")
                ],
                width=8,
            ),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Lambda errors",
                left=[f.metric_errors(period=FIVE_MINUTES, label=n) for n, f in functions.items()],
                width=8,
            ),
            cw.GraphWidget(
                title="Lambda throttles",
                left=[f.metric_throttles(period=FIVE_MINUTES, label=n) for n, f in functions.items()],
                width=8,
            ),
            cw.GraphWidget(
                title="Lambda p95 duration",
                left=[
                    f.metric_duration(period=FIVE_MINUTES, statistic="p95", label=n)
                    for n, f in functions.items()
                ],
                width=8,
            ),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="API requests / 4xx / 5xx",
                left=[
                    http_api.metric_count(period=FIVE_MINUTES),
                    http_api.metric_client_error(period=FIVE_MINUTES),
                    http_api.metric_server_error(period=FIVE_MINUTES),
                ],
                width=8,
            ),
            cw.GraphWidget(
                title="API latency p95",
                left=[http_api.metric_latency(period=FIVE_MINUTES, statistic="p95")],
                width=8,
            ),
            cw.SingleValueWidget(
                title="Upload events in DLQ",
                metrics=[
                    dead_letter_queue.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES)
                ],
                width=8,
            ),
        )
