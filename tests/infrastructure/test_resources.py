"""Storage, functions, API and monitoring are built from the code's own definitions and are locked down."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from imgflow.config import Settings
from imgflow.records.table import TABLE
from imgflow.workflow.functions import IMAGE_TASK_CONCURRENCY, TASKS
from infra.config import CONTEXT_KEYS, StageConfig
from tests.support.synth import EXISTING_BUCKET, Synth, synthesize
from tests.support.synth import render as resolve

REPO = Path(__file__).resolve().parents[2]


def test_table_is_built_from_records_table(synth: Synth) -> None:
    props = synth.resources[synth.logical_id(synth.stack.storage.table)]["Properties"]
    assert props["KeySchema"] == TABLE["KeySchema"]
    assert sorted(props["AttributeDefinitions"], key=str) == sorted(TABLE["AttributeDefinitions"], key=str)
    assert props["GlobalSecondaryIndexes"] == TABLE["GlobalSecondaryIndexes"]
    assert props["BillingMode"] == TABLE["BillingMode"]
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}  # tombstones
    assert props["DeletionProtectionEnabled"] is True


def test_functions_are_built_from_tasks(synth: Synth) -> None:
    for spec in TASKS:
        props = synth.resources[synth.logical_id(synth.stack.functions.tasks[spec.name])]["Properties"]
        assert props["Handler"] == spec.handler
        assert props["MemorySize"] == spec.memory_mb
        assert props["Timeout"] == spec.timeout_s
        assert props["Runtime"] == "python3.13"
        assert props["Architectures"] == ["arm64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        (layer,) = props["Layers"]
        assert "Ref" in layer, "the layer ARN is an SSM-backed template parameter"


def test_powertools_layer_comes_from_the_managed_ssm_parameter(synth: Synth) -> None:
    params = synth.template.to_json()["Parameters"]
    paths = {p["Default"] for p in params.values() if p["Type"] == "AWS::SSM::Parameter::Value<String>"}
    assert "/aws/service/powertools/python/arm64/python3.13/3.37.0" in paths


def test_every_env_var_the_code_reads_is_set(synth: Synth) -> None:
    names = set(re.findall(r'"(IMGFLOW_[A-Z_]+)"', (REPO / "imgflow" / "config.py").read_text()))
    optional = {"IMGFLOW_RENDITIONS"}  # defaults to imgflow.config.DEFAULT_RENDITIONS
    api_only = {"IMGFLOW_INGEST_STATE_MACHINE_ARN", "IMGFLOW_CURSOR_KEY"}
    # Read by the reprocess function only (the deploy's context sets them, imgflow.config.Reprocessing).
    reprocess_only = {n for n in names if n.startswith("IMGFLOW_REPROCESS_")} | {"IMGFLOW_UPLOAD_DLQ_URL"}
    assert len(reprocess_only) == 5 and len(names) > 5
    reprocess = synth.stack.reprocessing.function
    functions = [*synth.stack.functions.tasks.values(), synth.stack.api.function, reprocess]
    for function in functions:
        env = synth.resources[synth.logical_id(function)]["Properties"]["Environment"]["Variables"]
        needed = names - optional - (set() if function is synth.stack.api.function else api_only)
        needed -= set() if function is reprocess else reprocess_only
        assert needed <= set(env), function.node.path
        assert env["IMGFLOW_UPLOADS_PREFIX"] == "uploads/"
        assert resolve(env["IMGFLOW_TABLE"]) == f"<{synth.logical_id(synth.stack.storage.table)}>"


def test_api_function(synth: Synth) -> None:
    props = synth.resources[synth.logical_id(synth.stack.api.function)]["Properties"]
    assert props["Handler"] == "api.handler.lambda_handler"
    ingest = f"<{synth.logical_id(synth.stack.ingest.state_machine)}>"
    env = props["Environment"]["Variables"]
    assert resolve(env["IMGFLOW_INGEST_STATE_MACHINE_ARN"]) == ingest
    secret = synth.logical_id(synth.stack.api.cursor_key)
    assert resolve(env["IMGFLOW_CURSOR_KEY"]) == f"{{{{resolve:secretsmanager:<{secret}>:SecretString:::}}}}"


def test_reserved_concurrency_on_image_tasks_only(synth: Synth) -> None:
    # The figures the local mode enforces (imgflow/workflow/functions.py) are the ones deployed.
    for spec in TASKS:
        props = synth.resources[synth.logical_id(synth.stack.functions.tasks[spec.name])]["Properties"]
        if spec.name == "record":
            assert "ReservedConcurrentExecutions" not in props, "record must never be throttled by us"
        else:
            assert spec.reserved_concurrency == IMAGE_TASK_CONCURRENCY == 20
            assert props["ReservedConcurrentExecutions"] == spec.reserved_concurrency


@pytest.mark.parametrize(("context", "expected"), [("50", 50), ("0", None)])
def test_image_task_concurrency_is_overridden_by_context(
    tmp_path: Path, context: str, expected: int | None
) -> None:
    synthesized = synthesize(tmp_path, imageTaskConcurrency=context)
    for spec in TASKS:
        props = synthesized.resources[synthesized.logical_id(synthesized.stack.functions.tasks[spec.name])][
            "Properties"
        ]
        want = None if spec.reserved_concurrency is None else expected
        assert props.get("ReservedConcurrentExecutions") == want


def test_formats_and_reprocess_bounds_come_from_context(tmp_path: Path) -> None:
    synthesized = synthesize(
        tmp_path, formats="jpeg,png,heic", reprocessMaxImages="500", reprocessStuckAfterSeconds="600"
    )

    def env(function: Any) -> dict[str, Any]:
        return dict(
            synthesized.resources[synthesized.logical_id(function)]["Properties"]["Environment"]["Variables"]
        )

    stack = synthesized.stack
    for function in [*stack.functions.tasks.values(), stack.api.function, stack.reprocessing.function]:
        assert env(function)["IMGFLOW_FORMATS"] == "JPEG,PNG,HEIF"
    reprocess = env(stack.reprocessing.function)
    assert (reprocess["IMGFLOW_REPROCESS_MAX_IMAGES"], reprocess["IMGFLOW_REPROCESS_STUCK_AFTER_S"]) == (
        "500",
        "600",
    )
    # The accepted formats are part of the pipeline version, derived as the functions derive it.
    version = env(stack.functions.tasks["validate"])["IMGFLOW_PIPELINE_VERSION"]
    assert version == Settings.from_env({"IMGFLOW_FORMATS": "JPEG,PNG,HEIF"}).pipeline_version
    assert version != Settings().pipeline_version


@pytest.mark.parametrize("bucket", ["uploads", "renditions", "access_logs"])
def test_buckets_are_private_encrypted_and_deny_non_tls(synth: Synth, bucket: str) -> None:
    logical = synth.logical_id(getattr(synth.stack.storage, bucket))
    props = synth.resources[logical]["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"
    ] == {"SSEAlgorithm": "AES256"}
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synth.of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": logical}
    ]
    (statements,) = policies
    deny = [s for s in statements if s["Effect"] == "Deny" and s["Action"] == "s3:*"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in [s["Condition"] for s in deny]
    assert all(s["Principal"] == {"AWS": "*"} for s in deny)


def test_uploads_bucket_cors_and_lifecycle(synth: Synth) -> None:
    props = synth.resources[synth.logical_id(synth.stack.storage.uploads)]["Properties"]
    (cors,) = props["CorsConfiguration"]["CorsRules"]
    assert cors["AllowedMethods"] == ["POST"]
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    assert rules["abort-incomplete-multipart"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    rejected = rules["expire-rejected-originals"]
    assert rejected["Prefix"] == "uploads/"
    assert rejected["TagFilters"] == [{"Key": "imgflow-verdict", "Value": "rejected"}]
    assert rejected["ExpirationInDays"] == 7
    assert "LoggingConfiguration" in props


def test_api_jwt_cors_logs_throttling(synth: Synth) -> None:
    (authorizer,) = synth.of_type("AWS::ApiGatewayV2::Authorizer").values()
    assert authorizer["Properties"]["AuthorizerType"] == "JWT"
    issuer = resolve(authorizer["Properties"]["JwtConfiguration"]["Issuer"])
    assert issuer.startswith("https://cognito-idp.")
    routes = synth.of_type("AWS::ApiGatewayV2::Route").values()
    assert routes and all(r["Properties"]["AuthorizationType"] == "JWT" for r in routes)
    (api,) = synth.of_type("AWS::ApiGatewayV2::Api").values()
    assert "authorization" in api["Properties"]["CorsConfiguration"]["AllowHeaders"]
    (stage,) = synth.of_type("AWS::ApiGatewayV2::Stage").values()
    props = stage["Properties"]
    assert props["StageName"] == "$default" and props["AutoDeploy"] is True
    assert props["DefaultRouteSettings"] == {"ThrottlingBurstLimit": 100, "ThrottlingRateLimit": 50}
    assert "$context.requestId" in props["AccessLogSettings"]["Format"]
    (pool,) = synth.of_type("AWS::Cognito::UserPool").values()
    assert pool["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True


def test_alarms_cover_failures_dlq_errors_and_throttles(synth: Synth) -> None:
    alarms = synth.of_type("AWS::CloudWatch::Alarm").values()
    metrics = {(a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms}
    assert ("AWS/States", "ExecutionsFailed") in metrics
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible") in metrics
    assert ("AWS/Lambda", "Errors") in metrics and ("AWS/Lambda", "Throttles") in metrics
    lambda_alarms = [a for a in alarms if a["Properties"]["Namespace"] == "AWS/Lambda"]
    assert len(lambda_alarms) == 2 * (len(TASKS) + 1)
    assert all(a["Properties"]["AlarmActions"] for a in alarms)
    synth.template.resource_count_is("AWS::CloudWatch::Dashboard", 1)


def test_outputs(synth: Synth) -> None:
    assert {
        "ApiUrl",
        "UploadsBucketName",
        "RenditionsBucketName",
        "IngestStateMachineArn",
        "ReprocessStateMachineArn",
        "UserPoolId",
        "UserPoolClientId",
    } <= set(synth.outputs)


def test_existing_bucket_is_not_created(synth_existing: Synth) -> None:
    buckets = synth_existing.of_type("AWS::S3::Bucket")
    assert len(buckets) == 3  # renditions, access logs, web page
    (notifications,) = synth_existing.of_type("Custom::S3BucketNotifications").values()
    assert notifications["Properties"]["BucketName"] == EXISTING_BUCKET
    (rule,) = synth_existing.of_type("AWS::Events::Rule").values()
    assert rule["Properties"]["EventPattern"]["detail"]["bucket"]["name"] == [EXISTING_BUCKET]
    assert synth_existing.outputs["UploadsBucketName"]["Value"] == EXISTING_BUCKET
    synth_existing.template.has_resource_properties(
        "AWS::StepFunctions::StateMachine", {"StateMachineName": Match.string_like_regexp("imgflow-prod-")}
    )


def test_stage_config_rejects_mistakes() -> None:
    with pytest.raises(ValueError):
        StageConfig(stage="Prod_1")
    with pytest.raises(ValueError):
        StageConfig(architecture="sparc")
    with pytest.raises(ValueError):
        StageConfig(log_retention_days=31)
    with pytest.raises(ValueError):
        StageConfig(reprocess_max_images=0)
    assert "existingBucketName" in CONTEXT_KEYS


def test_a_mistyped_context_key_is_one_line_not_a_traceback() -> None:
    """What `npx cdk synth -c stgae=prod` shows: the CLI hands context to the app in CDK_CONTEXT_JSON."""
    import json
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("JSII_")}  # as a fresh shell has it
    env = {**env, "CDK_CONTEXT_JSON": json.dumps({"stgae": "prod"}), "CDK_OUTDIR": "/nonexistent"}
    done = subprocess.run(
        [sys.executable, "-m", "infra.app"], capture_output=True, text=True, env=env, check=False, timeout=120
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [done.stderr.strip()], (
        "one line, no traceback, no Node banner in bytes"
    )
    assert "unknown context key 'stgae' (did you mean 'stage'?)" in done.stderr
