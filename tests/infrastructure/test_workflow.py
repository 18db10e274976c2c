"""The state machines deploy exactly the ASL files, substituted; the upload rule starts the right runs."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from imgflow import keys
from imgflow.workflow.asl import INGEST, definition_text, placeholders, render, upload_event_pattern
from imgflow.workflow.functions import TASKS
from tests.support.synth import Synth
from tests.support.synth import render as resolve


def definition(synth: Synth, machine: Any) -> str:
    """The definition as deployed: CloudFormation applies DefinitionSubstitutions to DefinitionString."""
    props = synth.resources[synth.logical_id(machine)]["Properties"]
    return render(resolve(props["DefinitionString"]), resolve(props["DefinitionSubstitutions"]))


def test_ingest_definition_is_the_file_after_substitution(synth: Synth) -> None:
    tasks = synth.stack.functions.tasks
    values = {s.placeholder: f"<{synth.logical_id(tasks[s.name])}.Arn>" for s in TASKS if s.placeholder}
    deployed = definition(synth, synth.stack.ingest.state_machine)
    assert deployed == render(definition_text(INGEST), values)


def test_reprocess_definition_is_the_file_after_substitution(synth: Synth) -> None:
    values = {
        "IngestStateMachineArn": f"<{synth.logical_id(synth.stack.ingest.state_machine)}>",
        "ReprocessFunctionArn": f"<{synth.logical_id(synth.stack.reprocessing.function)}.Arn>",
        "RunsBucketName": f"<{synth.logical_id(synth.stack.storage.renditions)}>",
    }
    deployed = definition(synth, synth.stack.reprocessing.state_machine)
    assert deployed == render(definition_text("reprocess"), values)


@pytest.mark.parametrize("name", [INGEST, "reprocess"])
def test_definition_string_is_the_file_and_every_placeholder_is_substituted(synth: Synth, name: str) -> None:
    machine = getattr(synth.stack, "ingest" if name == INGEST else "reprocessing").state_machine
    props = synth.resources[synth.logical_id(machine)]["Properties"]
    assert props["DefinitionString"] == definition_text(name), "inlined verbatim (no S3 asset, no rewrite)"
    assert set(props["DefinitionSubstitutions"]) == placeholders(definition_text(name))
    deployed = definition(synth, machine)
    assert "${" not in deployed
    json.loads(deployed)


def test_machines_are_standard_logged_and_traced(synth: Synth) -> None:
    for machine in synth.of_type("AWS::StepFunctions::StateMachine").values():
        props = machine["Properties"]
        assert props["StateMachineType"] == "STANDARD"
        assert props["LoggingConfiguration"]["Level"] == "ALL"
        assert props["LoggingConfiguration"]["IncludeExecutionData"] is True
        assert props["TracingConfiguration"] == {"Enabled": True}


# -- the upload rule ------------------------------------------------------------------------------------
def _matches(pattern: Any, event: Any) -> bool:
    """The subset of EventBridge matching the pattern uses: exact values and ``{"prefix": ...}``."""
    if isinstance(pattern, dict):
        return isinstance(event, dict) and all(
            k in event and _matches(v, event[k]) for k, v in pattern.items()
        )
    assert isinstance(pattern, list)
    for option in pattern:
        if isinstance(option, dict):
            (op, arg), *rest = option.items()
            assert op == "prefix" and not rest, option
            if isinstance(event, str) and event.startswith(arg):
                return True
        elif option == event:
            return True
    return False


def _s3_event(bucket: str, key: str) -> dict[str, Any]:
    return {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": bucket}, "object": {"key": key, "size": 10, "sequencer": "0A"}},
    }


@pytest.fixture(scope="module")
def rule(synth: Synth) -> dict[str, Any]:
    (rule,) = synth.of_type("AWS::Events::Rule").values()
    return rule["Properties"]


def test_rule_pattern_is_upload_event_pattern(synth: Synth, rule: dict[str, Any]) -> None:
    uploads = f"<{synth.logical_id(synth.stack.storage.uploads)}>"
    assert resolve(rule["EventPattern"]) == upload_event_pattern(uploads, "uploads/")


def test_rule_matches_uploads_and_not_renditions(synth: Synth, rule: dict[str, Any]) -> None:
    pattern = resolve(rule["EventPattern"])
    uploads = f"<{synth.logical_id(synth.stack.storage.uploads)}>"
    renditions = f"<{synth.logical_id(synth.stack.storage.renditions)}>"
    image_id = keys.new_image_id()
    assert _matches(pattern, _s3_event(uploads, keys.upload_key("alice", image_id)))
    rendition = keys.rendition_key("alice", image_id, "thumb", "jpg", keys.run_tag("arn:run"))
    assert not _matches(pattern, _s3_event(renditions, rendition))
    assert not _matches(pattern, _s3_event(uploads, rendition)), "only the uploads prefix starts runs"
    deleted = {**_s3_event(uploads, keys.upload_key("alice", image_id)), "detail-type": "Object Deleted"}
    assert not _matches(pattern, deleted)


def test_rule_targets_ingest_with_retries_and_dlq(synth: Synth, rule: dict[str, Any]) -> None:
    (target,) = rule["Targets"]
    assert resolve(target["Arn"]) == f"<{synth.logical_id(synth.stack.ingest.state_machine)}>"
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] > 0
    dlq = synth.logical_id(synth.stack.ingest.dead_letter_queue)
    assert resolve(target["DeadLetterConfig"]["Arn"]) == f"<{dlq}.Arn>"
    assert "Input" not in target, "the state machine gets the S3 event itself (Claim reads it as $)"


def test_only_the_uploads_bucket_sends_events(synth: Synth) -> None:
    (notifications,) = synth.of_type("Custom::S3BucketNotifications").values()
    props = notifications["Properties"]
    assert resolve(props["BucketName"]) == f"<{synth.logical_id(synth.stack.storage.uploads)}>"
    assert props["NotificationConfiguration"] == {"EventBridgeConfiguration": {}}
    renditions = synth.resources[synth.logical_id(synth.stack.storage.renditions)]["Properties"]
    assert "NotificationConfiguration" not in renditions


def test_schedules_run_the_repair_and_optionally_stale(synth: Synth) -> None:
    machine = f"<{synth.logical_id(synth.stack.reprocessing.state_machine)}>"
    by_mode = {}
    for schedule in synth.of_type("AWS::Scheduler::Schedule").values():
        props = schedule["Properties"]
        assert resolve(props["Target"]["Arn"]) == machine
        assert re.match(r"^(rate|cron)\(", props["ScheduleExpression"])
        by_mode[json.loads(props["Target"]["Input"])["mode"]] = props
    assert set(by_mode) == {"failed", "stuck", "stale"}
    assert by_mode["failed"]["State"] == by_mode["stuck"]["State"] == "ENABLED"
    assert by_mode["failed"]["ScheduleExpression"] == "rate(1 hour)"
    assert by_mode["stale"]["State"] == "DISABLED"  # on when reprocessStaleSchedule is set
