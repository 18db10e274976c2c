"""LocalCloud: the moto threaded server as S3, DynamoDB, EventBridge and Step Functions, deployed.

It creates what the CDK app creates (buckets, table, functions, the ingest state machine from its ASL file,
the upload rule) and points this process's boto3 at it, so the handlers run unchanged, in-process.
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import time
import warnings
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from PIL import Image
from werkzeug.serving import BaseWSGIServer, make_server

from imgflow import aws
from imgflow.config import Settings
from imgflow.records import TABLE
from imgflow.records.table import TTL_ATTRIBUTE
from imgflow.workflow import asl
from imgflow.workflow.functions import REPROCESS_FUNCTION, TASKS, reserved_concurrency
from imgflow_tools import aws_keys
from imgflow_tools.local import faults, moto_adapter
from imgflow_tools.local.iam import LocalIam
from imgflow_tools.local.iam.roles import machine_principal

if TYPE_CHECKING:
    from imgflow_tools.local.state import Restored, StateStore

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/imgflow-local"
INGEST_NAME = "imgflow-ingest"
REPROCESS_NAME = "imgflow-reprocess"
UPLOAD_RULE = "imgflow-uploads"
FINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
LISTEN_BACKLOG = 4096

_running: LocalCloud | None = None

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def function_name(task: str) -> str:
    """The local name of a task's function (``imgflow-<task>``)."""
    return f"imgflow-{task}"


def _local_environment(endpoint: str, port: int, settings: Settings) -> dict[str, str]:
    operator = aws_keys.operator_credentials()
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "MOTO_PORT": str(port),
        "AWS_ACCESS_KEY_ID": operator["access_key_id"],
        "AWS_SECRET_ACCESS_KEY": operator["secret_access_key"],
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "IMGFLOW_UPLOADS_BUCKET": settings.uploads_bucket,
        "IMGFLOW_RENDITIONS_BUCKET": settings.renditions_bucket,
        "IMGFLOW_TABLE": settings.table_name,
        "IMGFLOW_UPLOADS_PREFIX": settings.uploads_prefix,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
        "POWERTOOLS_SERVICE_NAME": "imgflow",
    }


@dataclass
class LocalCloud:
    """The whole system on 127.0.0.1; ``with LocalCloud() as cloud: ...``."""

    settings: Settings = field(default_factory=Settings)
    port: int = 0
    #: Reserved concurrency of the functions that have one (imgflow/workflow/functions.py), e.g. 4 for a
    #: burst soak;
    #: None: as the CDK app deploys them. Enforced as Lambda does (moto_adapter 8.).
    concurrency: int | None = None
    #: Optional WSGI middleware around moto (e.g. the POST policy check of the local S3 endpoint).
    middleware: Callable[[WsgiApp], WsgiApp] | None = None
    #: Where the state persists (``imgflow_tools.local.state``); None: ephemeral, gone with the process.
    state: StateStore | None = None
    #: What the start found in ``state`` (None when ephemeral).
    restored: Restored | None = None
    #: A clean stop waits this long for running executions before the last flush.
    drain_s: float = 10.0
    #: IAM as in AWS (imgflow_tools/local/iam): only signed calls, each principal under its template role.
    #: False: moto's open door (and one role for everything), for tests of moto itself.
    iam_enforced: bool = True
    iam: LocalIam | None = None
    endpoint: str = ""
    ingest_arn: str = ""
    reprocess_arn: str = ""
    _server: BaseWSGIServer | None = None
    _thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> LocalCloud:
        global _running
        if _running is not None:
            raise RuntimeError("a LocalCloud already runs in this process (moto's state is process-wide)")
        _running = self
        moto_adapter.install()
        if self.state is not None:
            from imgflow_tools.local.state import changes

            changes.install()
        faults.install()  # off unless IMGFLOW_FAULTS is set; switchable at run time (/_imgflow/faults)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # Powertools warns on every invocation that publishes no metric; metrics are off locally anyway.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        # Pillow warns above its own default limit; validate rejects by the configured one anyway.
        warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        app: WsgiApp = faults.control(DomainDispatcherApplication(create_backend_app))
        if self.iam_enforced:
            self.iam = self.iam or LocalIam.build(self.settings)
            app = self.iam.wrap(app)  # /moto-api and /_imgflow need the operator's signature
        if self.middleware:  # outermost: it sees every request (origin and Host first), the door's too
            app = self.middleware(app)
        self._server = make_server(
            "127.0.0.1", self.port, app, threaded=True, request_handler=MotoRequestHandler
        )
        # Every execution's task calls come back to this server: a burst of a thousand would overflow
        # werkzeug's listen backlog of 128 (connections time out). Listening again updates it.
        self._server.socket.listen(LISTEN_BACKLOG)
        self.port = self._server.server_port
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="imgflow-moto", daemon=True)
        self._thread.start()
        os.environ.update(_local_environment(self.endpoint, self.port, self.settings))
        os.environ.pop("AWS_SESSION_TOKEN", None)
        if self.iam:
            self.iam.activate()
        from imgflow.observability import logger, metrics

        logger.setLevel(os.environ["POWERTOOLS_LOG_LEVEL"])  # it read the level when it was imported
        # With metrics disabled Powertools never flushes, yet prints the set once a metric has 100 values:
        # start every invocation with an empty set, as a fresh Lambda sandbox would.
        if metrics.clear_metrics not in moto_adapter.after_invoke:
            moto_adapter.after_invoke.append(metrics.clear_metrics)
        aws.client.cache_clear()
        self._configure_moto()
        self.deploy()
        if self.state is not None:
            self.restored = self.state.restore(ACCOUNT, REGION)
            self.state.start()
        return self

    def stop(self) -> None:
        global _running
        if _running is self:
            _running = None
        if self.state is not None:
            self._drain()
            self.state.close()
            self.state = None
        if self.iam:
            self.iam.deactivate()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _drain(self) -> None:
        """A clean stop lets running executions end (up to ``drain_s``); those still running are flushed
        as RUNNING and end ABORTED at the next start, like a crash's."""
        from imgflow_tools.local.state import executions

        deadline = time.monotonic() + self.drain_s
        while executions.running(ACCOUNT, REGION) and time.monotonic() < deadline:
            time.sleep(0.1)

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION)

    def _configure_moto(self) -> None:
        import requests

        # Server mode keeps its own copy of the config: set it over HTTP too, before any state machine exists.
        url = f"{self.endpoint}/moto-api/config"
        body = json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode()
        headers = aws_keys.signed_headers("POST", url, body, headers={"Content-Type": "application/json"})
        requests.post(url, data=body, headers=headers, timeout=10).raise_for_status()

    def role_arn(self, name: str) -> str:
        """The role a function or state machine runs under (the template's, when IAM is enforced)."""
        if self.iam and name in self.iam.stack.roles:
            return self.iam.stack.roles[name].arn
        return ROLE_ARN

    # -- resources ------------------------------------------------------------------------------------
    def deploy(self) -> None:
        """Create what the CDK app creates, from the same definitions."""
        s = self.settings
        s3, ddb, lam, sfn, events = (
            self.client(n) for n in ("s3", "dynamodb", "lambda", "stepfunctions", "events")
        )
        iam = self.client("iam")
        for queue in (
            self.iam.stack.queues if self.iam else ()
        ):  # the template's queues, as environments name them
            self.client("sqs").create_queue(QueueName=queue)
        for role in self.iam.stack.roles.values() if self.iam else ():
            iam.create_role(RoleName=role.name, AssumeRolePolicyDocument=json.dumps(role.trust))
            for index, document in enumerate(role.policies):
                iam.put_role_policy(
                    RoleName=role.name, PolicyName=f"policy-{index}", PolicyDocument=json.dumps(document)
                )
        iam.create_role(
            RoleName=ROLE_ARN.rsplit("/", 1)[1],
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )
        for bucket in (s.uploads_bucket, s.renditions_bucket):
            s3.create_bucket(Bucket=bucket)
        s3.put_bucket_notification_configuration(
            Bucket=s.uploads_bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
        ddb.create_table(TableName=s.table_name, **TABLE)
        ddb.update_time_to_live(
            TableName=s.table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
        )
        substitutions = {}
        functions: dict[str, str] = {}
        for spec in (*TASKS, REPROCESS_FUNCTION):
            functions[spec.name] = arn = lam.create_function(
                FunctionName=function_name(spec.name),
                Runtime="python3.12",
                Role=self.role_arn(function_name(spec.name)),
                Handler=spec.handler,
                Code={"ZipFile": _placeholder_zip()},
                MemorySize=spec.memory_mb,
                Timeout=spec.timeout_s,
            )["FunctionArn"]
            if spec.placeholder and spec in TASKS:
                substitutions[spec.placeholder] = arn
        self.set_concurrency(self.concurrency)
        definition = asl.render(asl.definition_text(asl.INGEST), substitutions)
        self.ingest_arn = sfn.create_state_machine(
            name=INGEST_NAME,
            definition=definition,
            roleArn=self.role_arn(machine_principal(INGEST_NAME)),
            type="STANDARD",
        )["stateMachineArn"]
        reprocess = asl.render(
            asl.definition_text(asl.REPROCESS),
            {
                "ReprocessFunctionArn": functions[REPROCESS_FUNCTION.name],
                "IngestStateMachineArn": self.ingest_arn,
                "RunsBucketName": s.renditions_bucket,
            },
        )
        self.reprocess_arn = sfn.create_state_machine(
            name=REPROCESS_NAME,
            definition=reprocess,
            roleArn=self.role_arn(machine_principal(REPROCESS_NAME)),
            type="STANDARD",
        )["stateMachineArn"]
        events.put_rule(
            Name=UPLOAD_RULE,
            EventPattern=json.dumps(asl.upload_event_pattern(s.uploads_bucket, s.uploads_prefix)),
        )
        events.put_targets(
            Rule=UPLOAD_RULE, Targets=[{"Id": "ingest", "Arn": self.ingest_arn, "RoleArn": ROLE_ARN}]
        )

    def set_concurrency(self, override: int | None) -> None:
        """Reserve each function's concurrency as the CDK app does, ``override`` replacing the figure."""
        lam = self.client("lambda")
        for spec in TASKS:
            name, reserved = function_name(spec.name), reserved_concurrency(spec, override)
            if reserved is None:
                lam.delete_function_concurrency(FunctionName=name)
            else:
                lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=reserved)
        self.concurrency = override

    # -- runs -----------------------------------------------------------------------------------------
    def executions(self) -> list[dict[str, Any]]:
        sfn = self.client("stepfunctions")
        pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=self.ingest_arn)
        return [e for page in pages for e in page["executions"]]

    def wait_for_executions(self, count: int, *, timeout: float = 120.0) -> list[dict[str, Any]]:
        """Wait until at least ``count`` executions exist and all have ended; returns their descriptions."""
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while True:
            runs = self.executions()
            if len(runs) >= count and all(r["status"] in FINAL for r in runs):
                return [sfn.describe_execution(executionArn=r["executionArn"]) for r in runs]
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(runs)} executions, not all final after {timeout}s")
            time.sleep(0.05)


def _placeholder_zip() -> bytes:
    """moto wants a code package; the handler runs from this process's own import path."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("README.txt", "imgflow local mode: handlers run in-process\n")
    return buf.getvalue()
