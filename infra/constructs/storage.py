"""Uploads bucket (created or existing), renditions bucket, access-log bucket and the images table."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from imgflow.objects import REJECTED_TAG
from imgflow.records.table import TABLE, TTL_ATTRIBUTE
from infra.config import StageConfig
from infra.nag import acknowledge


def _secure_bucket_props(config: StageConfig) -> dict[str, Any]:
    """What every bucket here shares: private, TLS-only, SSE-S3, owner-enforced, retained by default."""
    return {
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "enforce_ssl": True,
        "minimum_tls_version": 1.2,
        "encryption": s3.BucketEncryption.S3_MANAGED,
        "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        "removal_policy": RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
    }


def _attribute_type(name: str) -> dynamodb.AttributeType:
    kinds = {a["AttributeName"]: a["AttributeType"] for a in TABLE["AttributeDefinitions"]}
    return {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER}[kinds[name]]


def _keys(schema: list[dict[str, str]]) -> tuple[dynamodb.Attribute, dynamodb.Attribute | None]:
    """(partition key, sort key) of a KeySchema."""
    by_type = {
        e["KeyType"]: dynamodb.Attribute(name=e["AttributeName"], type=_attribute_type(e["AttributeName"]))
        for e in schema
    }
    return by_type["HASH"], by_type.get("RANGE")


class Storage(Construct):
    """Where originals, renditions and image records live."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        secure = _secure_bucket_props(config)

        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            **secure,
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(90))],
        )

        cors = [
            s3.CorsRule(
                allowed_methods=[s3.HttpMethods.POST],
                allowed_origins=list(config.allowed_origins),
                allowed_headers=["*"],
                exposed_headers=["ETag"],
                max_age=3000,
            )
        ]
        self.uploads_created = config.existing_bucket_name is None
        if config.existing_bucket_name is None:
            self.uploads: s3.IBucket = s3.Bucket(
                self,
                "Uploads",
                **secure,
                event_bridge_enabled=True,
                cors=cors,
                server_access_logs_bucket=self.access_logs,
                server_access_logs_prefix="uploads/",
                lifecycle_rules=[
                    s3.LifecycleRule(
                        id="abort-incomplete-multipart",
                        abort_incomplete_multipart_upload_after=Duration.days(1),
                    ),
                    s3.LifecycleRule(
                        id="expire-rejected-originals",
                        prefix=config.uploads_prefix,
                        tag_filters={REJECTED_TAG["Key"]: REJECTED_TAG["Value"]},
                        expiration=Duration.days(config.rejected_upload_days),
                    ),
                ],
            )
        else:
            # An existing bucket keeps its own policy, encryption, CORS and lifecycle (see README);
            # CDK only turns on its EventBridge notifications (a custom resource does that).
            self.uploads = s3.Bucket.from_bucket_name(self, "Uploads", config.existing_bucket_name)
            self.uploads.enable_event_bridge_notification()
        self._acknowledge_notifications_handler()

        # Renditions live in another bucket with no notifications at all: writing them never starts a run.
        self.renditions = s3.Bucket(
            self,
            "Renditions",
            **secure,
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.GET, s3.HttpMethods.HEAD],
                    allowed_origins=list(config.allowed_origins),
                    allowed_headers=["*"],
                    max_age=3000,
                )
            ],
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="renditions/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="abort-incomplete-multipart", abort_incomplete_multipart_upload_after=Duration.days(1)
                )
            ],
        )

        partition_key, sort_key = _keys(TABLE["KeySchema"])
        self.table = dynamodb.Table(
            self,
            "Images",
            partition_key=partition_key,
            sort_key=sort_key,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=config.deletion_protection,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        )
        for index in TABLE["GlobalSecondaryIndexes"]:
            projection = index["Projection"]
            partition_key, sort_key = _keys(index["KeySchema"])
            self.table.add_global_secondary_index(
                index_name=index["IndexName"],
                partition_key=partition_key,
                sort_key=sort_key,
                projection_type=dynamodb.ProjectionType(projection["ProjectionType"]),
                non_key_attributes=projection.get("NonKeyAttributes"),
            )

    def _acknowledge_notifications_handler(self) -> None:
        """CDK sets bucket notifications (EventBridge on) through its own singleton custom-resource Lambda."""
        stack = Stack.of(self)
        for child in stack.node.children:
            if child.node.id.startswith("BucketNotificationsHandler"):
                acknowledge(
                    child,
                    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AWSLambdaBasicExecutionRole]",
                    "CDK's built-in BucketNotificationsHandler (turns on EventBridge notifications at deploy "
                    "time) only writes its own logs with this policy; its role is not configurable.",
                )

    def uploads_objects_arn(self) -> str:
        """ARN pattern of the originals (the uploads prefix only, never the whole bucket)."""
        return self.uploads.arn_for_objects(f"{self.config.uploads_prefix}*")

    def list_uploads_statement(self) -> iam.PolicyStatement:
        """ListBucket on the uploads bucket: what makes S3 answer 404 (not 403) for a missing original."""
        return iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.uploads.bucket_arn])

    def renditions_objects_arn(self) -> str:
        return self.renditions.arn_for_objects("*")

    def index_arns(self, *names: str) -> list[str]:
        """ARNs of the table's indexes (these, or all)."""
        indexes = [i["IndexName"] for i in TABLE["GlobalSecondaryIndexes"]]
        return [f"{self.table.table_arn}/index/{name}" for name in indexes if not names or name in names]
