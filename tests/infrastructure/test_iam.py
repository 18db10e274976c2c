"""Each role allows what its code calls, on the narrowest resources, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.synth import EXISTING_BUCKET, Synth
from tests.support.synth import render as resolve

XRAY = {("xray:PutTraceSegments", "*"), ("xray:PutTelemetryRecords", "*")}


def grants(synth: Synth, role_logical_id: str) -> set[tuple[str, str]]:
    """(action, resource) pairs of every Allow statement attached to a role; Deny/conditions fail the test."""
    role = synth.resources[role_logical_id]["Properties"]
    assert "ManagedPolicyArns" not in role, "no managed policies: only what the code calls"
    assert "Policies" not in role
    pairs: set[tuple[str, str]] = set()
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_logical_id} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow" and "Condition" not in statement
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            pairs |= {(a, resolve(r)) for a in actions for r in resources}
    return pairs


def function_grants(synth: Synth, function: Any) -> set[tuple[str, str]]:
    """A function's grants minus its own log group and X-Ray (asserted once, here)."""
    props = synth.resources[synth.logical_id(function)]["Properties"]
    role = props["Role"]["Fn::GetAtt"][0]
    pairs = grants(synth, role)
    log_group = f"<{props['LoggingConfig']['LogGroup']['Ref']}.Arn>"
    own_logs = {("logs:CreateLogStream", log_group), ("logs:PutLogEvents", log_group)}
    assert own_logs | XRAY <= pairs
    return pairs - own_logs - XRAY


@pytest.fixture(scope="module")
def arns(synth: Synth) -> dict[str, str]:
    storage = synth.stack.storage
    return {
        "originals": f"<{synth.logical_id(storage.uploads)}.Arn>/uploads/*",
        # Without it S3 answers 403 for a missing original: a deleted original would end FAILED with
        # AccessDenied, not SourceMissing, and the stuck repair would stop at the first abandoned upload.
        "uploads_bucket": f"<{synth.logical_id(storage.uploads)}.Arn>",
        "renditions": f"<{synth.logical_id(storage.renditions)}.Arn>/*",
        "table": f"<{synth.logical_id(storage.table)}.Arn>",
        "ingest": f"<{synth.logical_id(synth.stack.ingest.state_machine)}>",
        "renditions_bucket": f"<{synth.logical_id(storage.renditions)}.Arn>",
        "runs": f"<{synth.logical_id(storage.renditions)}.Arn>/.reprocess/*",
        "indexes": f"<{synth.logical_id(storage.table)}.Arn>/index/",
    }


def test_validate_reads_originals_and_looks_up_the_same_bytes(synth: Synth, arns: dict[str, str]) -> None:
    # HeadObject is authorised by s3:GetObject.
    assert function_grants(synth, synth.stack.functions.tasks["validate"]) == {
        ("s3:GetObject", arns["originals"]),
        ("s3:ListBucket", arns["uploads_bucket"]),
        ("dynamodb:Query", arns["indexes"] + "by_content"),  # the owner's image with these bytes
    }


def test_extract_meta_reads_originals_only(synth: Synth, arns: dict[str, str]) -> None:
    fn = synth.stack.functions.tasks["extract_meta"]
    assert function_grants(synth, fn) == {
        ("s3:GetObject", arns["originals"]),
        ("s3:ListBucket", arns["uploads_bucket"]),
    }


def test_resize_reads_originals_writes_renditions(synth: Synth, arns: dict[str, str]) -> None:
    pairs = function_grants(synth, synth.stack.functions.tasks["resize"])
    assert pairs == {
        ("s3:GetObject", arns["originals"]),
        ("s3:ListBucket", arns["uploads_bucket"]),
        ("s3:PutObject", arns["renditions"]),
        ("s3:DeleteObject", arns["renditions"]),  # its own output, when the image was deleted meanwhile
        ("dynamodb:GetItem", arns["table"]),  # was it deleted meanwhile?
    }
    assert ("s3:DeleteObject", arns["originals"]) not in pairs, "resize cannot delete originals"
    assert ("s3:PutObject", arns["originals"]) not in pairs, "resize cannot overwrite originals"


def test_record_updates_and_reads_items_only(synth: Synth, arns: dict[str, str]) -> None:
    pairs = function_grants(synth, synth.stack.functions.tasks["record"])
    assert pairs == {
        ("dynamodb:GetItem", arns["table"]),
        ("dynamodb:UpdateItem", arns["table"]),
        ("dynamodb:BatchWriteItem", arns["table"]),  # perceptual-hash band items
        ("s3:GetObject", arns["renditions"]),  # Reuse: a duplicate's renditions, copied server-side
        ("s3:PutObject", arns["renditions"]),
        ("s3:PutObjectTagging", arns["originals"]),  # marks rejected originals for the lifecycle rule
        ("s3:DeleteObject", arns["renditions"]),  # renditions the record no longer lists
        ("s3:ListBucket", arns["renditions_bucket"]),  # a lost or failed run's own prefix
    }
    assert ("s3:DeleteObject", arns["originals"]) not in pairs


def test_api_grants(synth: Synth, arns: dict[str, str]) -> None:
    table = arns["table"]
    pairs = function_grants(synth, synth.stack.api.function)
    assert pairs == {
        ("s3:PutObject", arns["originals"]),
        ("s3:GetObject", arns["originals"]),
        ("s3:GetObject", arns["renditions"]),
        ("s3:DeleteObject", arns["originals"]),
        ("s3:DeleteObject", arns["renditions"]),
        *{
            (f"dynamodb:{a}", table)
            for a in (
                "GetItem",
                "PutItem",
                "UpdateItem",
                "Query",
                "BatchGetItem",
                "BatchWriteItem",
            )
        },
        ("dynamodb:Query", f"{table}/index/by_owner"),  # lists (the status filter is on by_owner)
        ("dynamodb:Query", f"{table}/index/by_content"),  # POST /uploads with a sha256
        ("s3:ListBucket", f"<{synth.logical_id(synth.stack.storage.renditions)}.Arn>"),
        ("states:StartExecution", arns["ingest"]),
        *{
            (
                f"states:{a}",
                "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:imgflow-dev-ingest:*",
            )
            for a in (
                "StopExecution",
                "DescribeExecution",
                "GetExecutionHistory",
            )  # runs: ingest executions only
        },
    }
    assert ("s3:PutObject", arns["renditions"]) not in pairs, "the API cannot write renditions"


def test_ingest_machine_invokes_exactly_the_four_tasks(synth: Synth) -> None:
    machine = synth.resources[synth.logical_id(synth.stack.ingest.state_machine)]["Properties"]
    pairs = grants(synth, machine["RoleArn"]["Fn::GetAtt"][0])
    invoked = {r for a, r in pairs if a.startswith("lambda:")}
    tasks = synth.stack.functions.tasks
    assert invoked == {f"<{synth.logical_id(fn)}.Arn>" for fn in tasks.values()}
    assert {a for a, _ in pairs if a.startswith("lambda:")} == {"lambda:InvokeFunction"}
    assert not [p for p in pairs if not p[0].startswith(("lambda:", "logs:", "xray:"))]


def test_reprocess_machine_invokes_its_function_runs_ingest_and_touches_only_run_files(
    synth: Synth, arns: dict[str, str]
) -> None:
    reprocessing = synth.stack.reprocessing
    machine = synth.resources[synth.logical_id(reprocessing.state_machine)]["Properties"]
    pairs = grants(synth, machine["RoleArn"]["Fn::GetAtt"][0])
    business = {p for p in pairs if not p[0].startswith(("logs:", "xray:"))}
    prefix = "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>"
    ingest_runs = f"{prefix}:execution:imgflow-dev-ingest:*"
    assert business == {
        ("lambda:InvokeFunction", f"<{synth.logical_id(reprocessing.function)}.Arn>"),
        *{(a, arns["runs"]) for a in ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload")},
        ("s3:ListMultipartUploadParts", arns["runs"]),
        ("states:StartExecution", arns["ingest"]),
        ("states:DescribeExecution", ingest_runs),
        ("states:StopExecution", ingest_runs),
        *{
            (a, "arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/"
             "StepFunctionsGetEventsForStepFunctionsExecutionRule")
            for a in ("events:PutTargets", "events:PutRule", "events:DescribeRule")
        },
        ("states:StartExecution", f"{prefix}:stateMachine:imgflow-dev-reprocess"),
        ("states:DescribeExecution", f"{prefix}:execution:imgflow-dev-reprocess:*"),
        ("states:StopExecution", f"{prefix}:execution:imgflow-dev-reprocess:*"),
    }  # fmt: skip
    assert not [p for p in business if p[0].startswith("dynamodb:")], "records are the function's business"


def test_reprocess_function_queries_indexes_and_writes_only_run_files(
    synth: Synth, arns: dict[str, str]
) -> None:
    pairs = function_grants(synth, synth.stack.reprocessing.function)
    prefix = "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>"
    dlq = f"<{synth.logical_id(synth.stack.ingest.dead_letter_queue)}.Arn>"
    assert pairs == {
        ("dynamodb:Query", arns["indexes"] + "by_owner"),
        ("dynamodb:Query", arns["indexes"] + "by_status"),
        ("dynamodb:UpdateItem", arns["table"]),  # PENDING -> EXPIRED, conditionally
        ("dynamodb:BatchGetItem", arns["table"]),
        ("s3:GetObject", arns["originals"]),  # HEAD: did the upload come?
        ("s3:ListBucket", arns["uploads_bucket"]),  # ... answered 404, not 403, when it did not
        ("s3:GetObject", arns["runs"]),
        ("s3:PutObject", arns["runs"]),
        ("s3:ListBucket", arns["renditions_bucket"]),  # a new run's missing selection.json is a 404
        ("states:DescribeExecution", f"{prefix}:execution:imgflow-dev-ingest:*"),
        ("sqs:ReceiveMessage", dlq),
        ("sqs:DeleteMessage", dlq),
    }
    assert not [p for p in pairs if p[0] in ("dynamodb:Scan", "dynamodb:PutItem", "dynamodb:DeleteItem")]


def test_no_role_has_wildcard_actions(synth: Synth) -> None:
    for policy in synth.of_type("AWS::IAM::Policy").values():
        roles = [r.get("Ref", "") for r in policy["Properties"].get("Roles", [])]
        if all(r.startswith("CustomCDKBucketDeployment") for r in roles):
            continue  # CDK's own deploy-time handler copying the web page (cdk-nag acknowledged, web.py)
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not [a for a in actions if "*" in a], statement


def test_existing_bucket_grants_name_that_bucket(synth_existing: Synth) -> None:
    originals = f"arn:<AWS::Partition>:s3:::{EXISTING_BUCKET}/uploads/*"
    fn = synth_existing.stack.functions.tasks["validate"]
    assert {p for p in function_grants(synth_existing, fn) if p[0].startswith("s3:")} == {
        ("s3:GetObject", originals),
        ("s3:ListBucket", f"arn:<AWS::Partition>:s3:::{EXISTING_BUCKET}"),
    }
