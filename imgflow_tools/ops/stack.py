"""Where a stack's resources are, for the operator tools: a local endpoint or a deployed stack."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from imgflow.config import Settings
from imgflow_tools import aws_keys
from imgflow_tools.ops.errors import SERVE_HINT, CommandError

#: Names the local mode deploys (``imgflow_tools.local.cloud``); a deployed stack gives its own through
#: outputs.
LOCAL_REGION = "us-east-1"
LOCAL_STATE_MACHINES = {"ingest": "imgflow-ingest", "reprocess": "imgflow-reprocess"}
#: CloudFormation output of the CDK app -> Stack field.
OUTPUTS = {
    "TableName": "table_name",
    "UploadsBucketName": "uploads_bucket",
    "RenditionsBucketName": "renditions_bucket",
    "IngestStateMachineArn": "ingest_arn",
    "ReprocessStateMachineArn": "reprocess_arn",
}
# Operator tools see more throttling than a task (they list and poll): let botocore retry longer.
_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 10}, connect_timeout=5, read_timeout=60)
#: Finding a local stack: one attempt, so a wrong --endpoint fails in seconds, not after ten retries.
_PROBE = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=3, read_timeout=30)


class StackNotFound(CommandError):
    """The stack, or one of its resources, could not be found (a one-line message and hint for the CLI)."""


@dataclass
class Stack:
    """The resources of one imgflow deployment and clients for them."""

    table_name: str
    uploads_bucket: str
    renditions_bucket: str
    ingest_arn: str = ""
    reprocess_arn: str = ""
    endpoint: str | None = None
    region: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` (cached per stack)."""
        if service not in self._clients:
            self._clients[service] = self._new_client(service, _CONFIG)
        return self._clients[service]

    def _new_client(self, service: str, config: Config) -> Any:
        kwargs: dict[str, Any] = {"config": config, "region_name": self.region}
        if self.endpoint:
            operator = aws_keys.operator_credentials()  # the local stack's, beside its token key
            kwargs.update(
                endpoint_url=self.endpoint,
                aws_access_key_id=operator["access_key_id"],
                aws_secret_access_key=operator["secret_access_key"],
            )
        return boto3.session.Session().client(service, **kwargs)

    @property
    def is_local(self) -> bool:
        return self.endpoint is not None


def local(endpoint: str, settings: Settings | None = None) -> Stack:
    """The stack ``imgflow serve`` (or ``LocalCloud``) runs at ``endpoint``."""
    s = settings or Settings()
    stack = Stack(
        table_name=s.table_name,
        uploads_bucket=s.uploads_bucket,
        renditions_bucket=s.renditions_bucket,
        endpoint=endpoint.rstrip("/"),
        region=LOCAL_REGION,
    )
    try:
        machines = stack._new_client("stepfunctions", _PROBE).list_state_machines()["stateMachines"]
    except Exception as exc:  # connection refused, not a moto server, ...
        raise StackNotFound(f"no imgflow stack answers at {endpoint}", SERVE_HINT) from exc
    by_name = {m["name"]: m["stateMachineArn"] for m in machines}
    stack.ingest_arn = by_name.get(LOCAL_STATE_MACHINES["ingest"], "")
    stack.reprocess_arn = by_name.get(LOCAL_STATE_MACHINES["reprocess"], "")
    if not stack.ingest_arn:
        raise StackNotFound(
            f"no imgflow state machine at {endpoint}", "is it the AWS endpoint `imgflow serve` prints?"
        )
    return stack


def deployed(stack_name: str, region: str | None = None) -> Stack:
    """A deployed stack, found by its CloudFormation outputs (AWS credentials from the environment)."""
    # No region or no credentials: botocore's own errors, which ``errors.explain`` answers in one line.
    cfn = boto3.session.Session(region_name=region).client("cloudformation", config=_PROBE)
    try:
        described = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" not in str(exc):
            raise
        raise StackNotFound(
            f"no stack {stack_name} in {cfn.meta.region_name}",
            "deploy it, or pass --stack NAME and --region, or --endpoint for a local stack",
        ) from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    missing = [k for k in OUTPUTS if k not in outputs]
    if missing:
        raise StackNotFound(
            f"stack {stack_name} has no output(s) {', '.join(missing)}", "is it an imgflow stack?"
        )
    return Stack(**{OUTPUTS[k]: outputs[k] for k in OUTPUTS}, region=cfn.meta.region_name)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every operator command shares: where the stack is."""
    where = parser.add_argument_group("stack")
    where.add_argument(
        "--endpoint",
        metavar="URL",
        help="a local stack: the AWS endpoint imgflow serve prints (e.g. http://127.0.0.1:8001)",
    )
    where.add_argument(
        "--stack",
        metavar="NAME",
        default="imgflow-dev",
        help="a deployed stack's CloudFormation name (default: imgflow-dev), used without --endpoint",
    )
    where.add_argument("--region", help="AWS region of the deployed stack (default: from the environment)")


def from_arguments(args: argparse.Namespace) -> Stack:
    """The stack the parsed options name."""
    if args.endpoint:
        return local(args.endpoint)
    return deployed(args.stack, args.region)
