"""The gaps imgflow_tools/local/moto_adapter.py bridges are still there in the pinned moto, and the bridge
holds.

When one of the "upstream" tests fails, moto changed: re-measure and simplify the adapter.
"""

from __future__ import annotations

import inspect
import json
import logging

import moto
import pytest
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel

from imgflow.workflow import asl
from imgflow.workflow.functions import TASKS
from imgflow_tools.local import moto_adapter
from imgflow_tools.local.cloud import ROLE_ARN, LocalCloud
from tests.support.cloud import executions_for, put_upload
from tests.support.images import jpeg_bytes
from tests.support.waiting import wait_final, wait_record


def test_moto_is_the_version_the_adapter_was_measured_on() -> None:
    assert moto.__version__ == moto_adapter.MOTO_VERSION


def test_upstream_lambda_invoke_still_needs_docker(cloud: LocalCloud) -> None:
    assert "docker" in inspect.getsource(moto_adapter.UPSTREAM["invoke_lambda"])


def test_upstream_s3_event_still_has_a_fixed_sequencer_and_etag_casing(cloud: LocalCloud) -> None:
    source = inspect.getsource(moto_adapter.UPSTREAM["send_event_bridge_message"])
    assert '"sequencer": "617f08299329d189"' in source
    assert '"eTag"' in source


def test_upstream_rules_cannot_target_a_state_machine() -> None:
    from moto.events.models import Rule

    rule = Rule(
        "r",
        "000000000001",
        "us-east-1",
        None,
        json.dumps({"source": ["aws.s3"]}),
        None,
        None,
        "default",
        "ENABLED",
        targets=[{"Id": "t", "Arn": "arn:aws:states:us-east-1:000000000001:stateMachine:x"}],
    )
    with pytest.raises(NotImplementedError):
        rule.send_to_targets({"source": "aws.s3", "detail": {}}, transform_input=False)


def test_upstream_jsonpath_returns_a_list_for_a_field_of_an_indexed_item() -> None:
    # AWS gives 1 for "$[0].a"; moto gives [1]. The ASL selects whole Parallel results ("$[0]") instead.
    from moto.stepfunctions.parser.asl.utils.json_path import extract_json

    assert extract_json("$[0].a", [{"a": 1}]) == [1]
    assert extract_json("$[0]", [{"a": 1}]) == {"a": 1}


def test_retry_waits_are_scaled(cloud: LocalCloud) -> None:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    assert isinstance(retrier_decl.time, moto_adapter._ScaledTime)


def test_the_local_event_has_the_shape_eventbridge_delivers(cloud: LocalCloud) -> None:
    image_id = put_upload(cloud, jpeg_bytes())
    wait_record(cloud, image_id)
    [execution] = executions_for(cloud, image_id)
    event = json.loads(execution["input"])

    parsed = S3EventNotificationEventBridgeModel.model_validate(event)
    assert parsed.detail_type == "Object Created" and parsed.source == "aws.s3"
    assert set(event) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }
    assert set(event["detail"]) == {
        "version", "bucket", "object", "request-id", "requester", "source-ip-address", "reason",
    }  # fmt: skip
    assert set(event["detail"]["object"]) == {"key", "size", "etag", "sequencer"}
    assert event["time"].endswith("Z") and "T" in event["time"]


def test_sequencers_grow_with_every_write() -> None:
    first, second = moto_adapter.new_sequencer(), moto_adapter.new_sequencer()
    assert len(first) == len(second) and second > first


def test_the_definition_placeholders_are_exactly_what_is_substituted() -> None:
    text = asl.definition_text()
    substituted = {spec.placeholder for spec in TASKS if spec.placeholder}
    assert asl.placeholders(text) == substituted
    rendered = asl.render(text, {name: f"arn:{name}" for name in substituted})
    assert "${" not in rendered
    json.loads(rendered)
    with pytest.raises(ValueError):
        asl.render(text, {name: "x" for name in list(substituted)[1:]})
    with pytest.raises(ValueError):
        asl.render(text, {**{name: "x" for name in substituted}, "Unused": "x"})


def test_the_local_stack_runs_the_file_as_it_is(cloud: LocalCloud) -> None:
    deployed = cloud.client("stepfunctions").describe_state_machine(stateMachineArn=cloud.ingest_arn)[
        "definition"
    ]
    arns = {
        spec.placeholder: f"arn:aws:lambda:us-east-1:123456789012:function:imgflow-{spec.name}"
        for spec in TASKS
        if spec.placeholder
    }
    assert json.loads(deployed) == json.loads(asl.render(asl.definition_text(), arns))


def test_upstream_parses_the_definition_for_every_execution(cloud: LocalCloud) -> None:
    assert "AmazonStateLanguageParser.parse" in inspect.getsource(
        moto_adapter.UPSTREAM["evaluation_entrypoint"]
    )


def test_each_execution_evaluates_its_own_copy_of_the_parsed_definition(cloud: LocalCloud) -> None:
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    class Details:
        class state_machine_details:
            definition = asl.render(
                asl.definition_text(), {s.placeholder: f"arn:{s.name}" for s in TASKS if s.placeholder}
            )

    worker = ExecutionWorker.__new__(ExecutionWorker)
    worker._evaluation_details = Details  # type: ignore[assignment]
    first, second = worker._get_evaluation_entrypoint(), worker._get_evaluation_entrypoint()
    assert first is not second and type(first) is type(second)


def test_upstream_engine_clients_ignore_the_state_credentials(cloud: LocalCloud) -> None:
    # So one cached client per service is what upstream would build anyway.
    source = inspect.getsource(moto_adapter.UPSTREAM["boto_client_for"])
    assert source.count("state_credentials") == 1  # the parameter, never read


# -- 7. startExecution casing; Distributed Map as the reprocess workflow meets it -------------------------
def _sfn_task(action: str) -> object:
    from types import SimpleNamespace

    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )

    task = StateTaskServiceSfn.__new__(StateTaskServiceSfn)
    task.resource = SimpleNamespace(api_action=action)  # type: ignore[attr-defined]
    return task


def test_upstream_start_execution_keeps_the_asl_casing_for_boto3(cloud: LocalCloud) -> None:
    params = {"StateMachineArn": "arn", "Name": "n", "Input": {"a": 1}}
    moto_adapter.UPSTREAM["sfn_normalise_parameters"](_sfn_task("startExecution"), params)
    assert "StateMachineArn" in params  # boto3 wants stateMachineArn: moto issue 10076
    response = {"executionArn": "arn", "startDate": 0}
    moto_adapter.UPSTREAM["sfn_normalise_response"](_sfn_task("startExecution"), response)
    assert "ExecutionArn" not in response


def test_start_execution_parameters_and_response_are_recased(cloud: LocalCloud) -> None:
    task = _sfn_task("startExecution")
    params = {"StateMachineArn": "arn", "Name": "n", "Input": {"a": 1}}
    task._normalise_parameters(params)  # type: ignore[attr-defined]
    assert params == {"stateMachineArn": "arn", "name": "n", "input": '{"a":1}'}
    response = {"executionArn": "arn", "startDate": 0}
    task._normalise_response(response)  # type: ignore[attr-defined]
    assert response == {"ExecutionArn": "arn", "StartDate": 0}


def _distributed_map_over(cloud: LocalCloud, child: dict[str, object], name: str) -> str:
    """A Distributed Map over a 3-item manifest, each item a .sync:2 run of ``child``; returns its output."""
    sfn, s3 = cloud.client("stepfunctions"), cloud.client("s3")
    bucket = cloud.settings.renditions_bucket
    child_arn = sfn.create_state_machine(
        name=f"{name}-child", definition=json.dumps(child), roleArn=ROLE_ARN
    )["stateMachineArn"]
    s3.put_object(
        Bucket=bucket, Key=f".test/{name}.json", Body=json.dumps([{"n": f"{name}-{i}"} for i in range(3)])
    )
    parent = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ToleratedFailurePercentage": 0.0,
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON"},
                    "Parameters": {"Bucket": bucket, "Key": f".test/{name}.json"},
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "S",
                    "States": {
                        "S": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::states:startExecution.sync:2",
                            "Parameters": {"StateMachineArn": child_arn, "Name.$": "$.n", "Input": {}},
                            "End": True,
                        }
                    },
                },
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": bucket, "Prefix": f".test/{name}-results"},
                },
                "End": True,
            }
        },
    }
    arn = sfn.create_state_machine(name=name, definition=json.dumps(parent), roleArn=ROLE_ARN)[
        "stateMachineArn"
    ]
    execution = sfn.start_execution(stateMachineArn=arn, name="x", input="{}")["executionArn"]
    described = wait_final(cloud, execution)
    assert [e["status"] for e in sfn.list_executions(stateMachineArn=child_arn)["executions"]] != []
    return f"{described['status']} {described.get('output', '')}"


def test_upstream_distributed_map_ignores_its_failed_children(cloud: LocalCloud) -> None:
    # AWS fails the Map (0% tolerated); moto reports SUCCEEDED and writes no result files: the reprocess
    # summary is therefore read from the records, never from the Map's status or results.
    failing = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom"}}}
    outcome = _distributed_map_over(cloud, failing, "gap-children")
    assert outcome.startswith("SUCCEEDED")
    manifest_key = json.loads(outcome.split(" ", 1)[1])["ResultWriterDetails"]["Key"]
    body = cloud.client("s3").get_object(Bucket=cloud.settings.renditions_bucket, Key=manifest_key)["Body"]
    assert json.loads(body.read())["ResultFiles"] == {"FAILED": [], "PENDING": [], "SUCCEEDED": []}


def test_start_execution_sync_runs_each_child_to_its_end(cloud: LocalCloud) -> None:
    passing = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    assert _distributed_map_over(cloud, passing, "sync-children").startswith("SUCCEEDED")
    sfn = cloud.client("stepfunctions")
    child = next(m for m in sfn.list_state_machines()["stateMachines"] if m["name"] == "sync-children-child")
    runs = sfn.list_executions(stateMachineArn=child["stateMachineArn"])["executions"]
    assert sorted((r["name"], r["status"]) for r in runs) == [
        (f"sync-children-{i}", "SUCCEEDED") for i in range(3)
    ]


def test_upstream_rejects_an_integer_tolerated_failure_percentage(cloud: LocalCloud) -> None:
    # Valid in AWS; the reprocess definition uses ToleratedFailurePercentagePath (moto parses, ignores it).
    from botocore.exceptions import ClientError

    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ToleratedFailurePercentage": 5,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }
    with pytest.raises(ClientError, match="ToleratedFailurePercentage"):
        cloud.client("stepfunctions").create_state_machine(
            name="int-tolerance", definition=json.dumps(definition), roleArn=ROLE_ARN
        )


def test_the_local_stack_deploys_the_reprocess_file_as_it_is(cloud: LocalCloud) -> None:
    deployed = cloud.client("stepfunctions").describe_state_machine(stateMachineArn=cloud.reprocess_arn)
    assert (
        json.loads(deployed["definition"])["States"].keys()
        == json.loads(asl.definition_text(asl.REPROCESS))["States"].keys()
    )
    assert asl.placeholders(asl.definition_text(asl.REPROCESS)) == {
        "ReprocessFunctionArn",
        "IngestStateMachineArn",
        "RunsBucketName",
    }


def test_handled_evaluation_errors_are_not_logged(
    cloud: LocalCloud, caplog: pytest.LogCaptureFixture
) -> None:
    present = {"Variable": "$.missing", "IsPresent": True, "Next": "Yes"}
    definition = {
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [present], "Default": "No"},
            "Yes": {"Type": "Fail", "Error": "Wrong"},
            "No": {"Type": "Succeed"},
        },
    }
    sfn = cloud.client("stepfunctions")
    arn = sfn.create_state_machine(name="is-present", definition=json.dumps(definition), roleArn=ROLE_ARN)[
        "stateMachineArn"
    ]
    with caplog.at_level(logging.ERROR):
        execution = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
        described = wait_final(cloud, execution)
    assert described["status"] == "SUCCEEDED"
    assert [r.getMessage() for r in caplog.records if "NoSuchJsonPath" in r.getMessage()] == []
