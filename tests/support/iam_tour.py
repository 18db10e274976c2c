"""A tour of every path that calls AWS, each a small scenario on the local stack, for the IAM tests.

Each scenario drives the real entry points (the API through its gateway, a browser's POST upload, S3's upload
event, the reprocess state machine) so that every function and state machine calls AWS under its template
role. ``tests/iam/test_grants.py`` checks the tour's calls against the roles' grants; the removal tests run
the scenario that first used an action again without it. A scenario gathers its ``evidence`` (API answers,
records, executions' failures, the log lines of the functions) so a refused call must show there.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
from werkzeug.test import Client

from imgflow import aws, keys
from imgflow.records import ImageRepository
from imgflow.records.table import FINAL_STATUSES
from imgflow.workflow.asl import REPROCESS, definition_text
from imgflow_tools import tokens
from imgflow_tools.local import moto_adapter
from imgflow_tools.local.cloud import FINAL, LocalCloud
from imgflow_tools.local.iam import credentials, policy
from imgflow_tools.local.iam.roles import STATE_MACHINE_OUTPUTS, local_function_names, machine_principal
from imgflow_tools.local.server import ApiGateway
from imgflow_tools.ops import reprocess
from imgflow_tools.ops import stack as stacks
from tests.support.faults import Inject, client_error, injecting
from tests.support.images import jpeg_bytes

#: What a refused call leaves behind: AWS's code, or a HEAD's bodiless 403 as botocore words it.
DENIED = ("AccessDenied", "(403) when calling the HeadObject operation: Forbidden")


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        if record.exc_info:
            self.lines.append(logging.Formatter().formatException(record.exc_info))


@dataclass
class Tour:
    """One scenario's view of the local stack: the API as a user, the operator's clients, what it saw."""

    cloud: LocalCloud
    inject: Inject
    owner: str = field(default_factory=lambda: f"tour{secrets.token_hex(4)}")
    evidence: list[str] = field(default_factory=list)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    images: set[str] = field(default_factory=set)
    outcomes: str = ""

    def __post_init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._api = Client(ApiGateway(self._key))
        self._headers = {"Authorization": f"Bearer {tokens.issue(self.owner, key=self._key)}"}

    # -- as the user ------------------------------------------------------------------------------------
    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API request (JSON body in ``json``); its status and body join the evidence."""
        response = self._api.open(path, method=method, headers=self._headers, **kwargs)
        self.evidence.append(
            f"{method} {path}: {response.status_code} {response.get_data(as_text=True)[:500]}"
        )
        return response

    def upload(self, data: bytes, filename: str = "tour.jpg") -> str:
        """POST /uploads, then the browser's POST of the form to S3: the new image's id."""
        ticket = self.api(
            "POST", "/uploads", json={"filename": filename, "content_type": "image/jpeg", "size": len(data)}
        )
        if ticket.status_code != 201:
            raise AssertionError(f"POST /uploads: {ticket.status_code}")
        body = ticket.get_json()
        self.images.add(body["id"])
        form = body["upload"]
        posted = requests.post(
            form["url"], data=form["fields"], files={"file": (filename, data, "image/jpeg")}, timeout=30
        )
        self.evidence.append(f"POST upload form: {posted.status_code} {posted.text[:300]}")
        if posted.status_code >= 300:
            raise AssertionError(f"the upload form was refused: {posted.status_code}")
        return str(body["id"])

    def fetch(self, url: str) -> bytes:
        """GET a presigned URL the API handed out."""
        got = requests.get(url, timeout=30)
        self.evidence.append(
            f"GET presigned: {got.status_code} {got.text[:300] if got.status_code >= 300 else ''}"
        )
        if got.status_code != 200:
            raise AssertionError(f"a presigned GET was refused: {got.status_code}")
        return got.content

    # -- as the operator --------------------------------------------------------------------------------
    def repository(self) -> ImageRepository:
        return ImageRepository(self.cloud.settings.table_name, client=self.cloud.client("dynamodb"))

    def settle(
        self, image_id: str, *, after: str | None = None, timeout: float = 60
    ) -> dict[str, Any] | None:
        """Wait until the image's runs since the scenario began have ended (and a run other than ``after``
        wrote a final record, unless a run failed): the record, or None when there is none."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = [r for r in self.runs() if image_id in r.get("input", "")]
            record = self.repository().get(image_id)
            final = (
                record is not None
                and record.get("status") in FINAL_STATUSES
                and record.get("execution_arn") != after
            )
            ended = runs and all(r["status"] in FINAL for r in runs)
            if ended and (final or any(r["status"] != "SUCCEEDED" for r in runs) or record is None):
                return record
            time.sleep(0.05)
        raise TimeoutError(f"{image_id}: no run ended in {timeout}s")

    def runs(self) -> list[dict[str, Any]]:
        """The executions of both state machines started since the scenario began, described."""
        sfn = self.cloud.client("stepfunctions")
        found = []
        for machine in (self.cloud.ingest_arn, self.cloud.reprocess_arn):
            pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=machine)
            for page in pages:
                for run in page["executions"]:
                    if run["startDate"] >= self.started:
                        found.append(sfn.describe_execution(executionArn=run["executionArn"]))
        return found

    def reprocess(self, request: dict[str, Any]) -> dict[str, Any] | None:
        stack = stacks.local(self.cloud.endpoint, self.cloud.settings)
        try:
            summary = reprocess.run(stack, request)
        except reprocess.ReprocessFailed as exc:
            self.evidence.append(f"reprocess failed: {exc}")
            return None
        self.evidence.append(f"reprocess: {json.dumps(summary, default=str)}")
        return summary

    def gather(self) -> None:
        """The records of the scenario's images and the failures of its runs join the evidence (and are its
        ``outcomes``: where a run that failed names why)."""
        first = len(self.evidence)
        sfn = self.cloud.client("stepfunctions")
        for image_id in sorted(self.images):
            self.evidence.append(
                f"record {image_id}: {json.dumps(self.repository().get(image_id), default=str)}"
            )
        for run in self.runs():
            self.evidence.append(
                f"run {run['name']}: {run['status']} {run.get('error', '')} {run.get('cause', '')}"
            )
            for event in sfn.get_execution_history(executionArn=run["executionArn"])["events"]:
                if event["type"].endswith(("Failed", "TimedOut", "Aborted")):
                    details = {k: v for k, v in event.items() if k.endswith("EventDetails")}
                    self.evidence.append(f"  {event['type']}: {json.dumps(details, default=str)}")
        self.outcomes = "\n".join(self.evidence[first:])

    def text(self) -> str:
        return "\n".join(self.evidence)


@contextmanager
def touring(cloud: LocalCloud, inject: Inject) -> Iterator[Tour]:
    """A scenario's tour; the functions' log lines (Powertools' ``imgflow`` logger) join its evidence."""
    tour = Tour(cloud, inject)
    lines = _Lines()
    logger = logging.getLogger("imgflow")
    logger.addHandler(lines)
    try:
        yield tour
    finally:
        logger.removeHandler(lines)
        try:
            tour.gather()
        finally:
            tour.evidence.extend(lines.lines)


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)


def _as_operator() -> Any:
    return credentials.acting_as(credentials.OPERATOR)


# -- the scenarios ------------------------------------------------------------------------------------------
def upload_and_read(tour: Tour) -> None:
    """An upload through the API and the browser's form, processed; every read route of the API."""
    data = jpeg_bytes((320, 240))
    image_id = tour.upload(data)
    record = tour.settle(image_id)
    _expect(bool(record) and record["status"] == "PROCESSED", f"not PROCESSED: {record}")  # type: ignore[index]
    image = tour.api("GET", f"/images/{image_id}").get_json()
    tour.fetch(image["original_url"])
    tour.fetch(image["renditions"][0]["url"])
    _expect(tour.api("GET", f"/images/{image_id}/status").status_code == 200, "status")
    known = {"filename": "again.jpg", "content_type": "image/jpeg", "size": len(data)}
    again = tour.api("POST", "/uploads", json={**known, "sha256": hashlib.sha256(data).hexdigest()})
    _expect(again.status_code == 201 and again.get_json().get("duplicate_of") == image_id, "known bytes")
    _expect(tour.api("GET", "/images").status_code == 200, "list")
    _expect(tour.api("GET", "/images?status=PROCESSED").status_code == 200, "list by status")
    _expect(tour.api("GET", f"/images/{image_id}/runs").status_code == 200, "runs")
    _expect(tour.api("GET", f"/images/{image_id}/similar").status_code == 200, "similar")
    patched = tour.api("PATCH", f"/images/{image_id}", json={"description": "toured"})
    _expect(patched.status_code == 200, "patch")


def inline_upload(tour: Tour) -> None:
    """POST /images with the bytes in the body: the API stores the original itself. Its PutItem is answered
    as botocore's retry of an applied put is (ConditionalCheckFailed): the API reads the record back."""

    retried: list[str] = []

    def applied_then_retried(**_: Any) -> None:
        if not retried and credentials.current_name() == "imgflow-api":
            retried.append("PutItem")
            raise client_error("ConditionalCheckFailedException", 400, "PutItem")

    events = aws.client("dynamodb").meta.events
    events.register("after-call.dynamodb.PutItem", applied_then_retried)
    try:
        data = base64.b64encode(jpeg_bytes((160, 120))).decode()
        body = {"filename": "i.jpg", "content_type": "image/jpeg", "data": data}
        created = tour.api("POST", "/images", json=body)
    finally:
        events.unregister("after-call.dynamodb.PutItem", applied_then_retried)
    _expect(retried == ["PutItem"], "the API made no PutItem")
    _expect(created.status_code == 202, f"inline upload: {created.status_code}")
    image_id = created.get_json()["id"]
    tour.images.add(image_id)
    record = tour.settle(image_id)
    _expect(bool(record) and record["status"] == "PROCESSED", f"not PROCESSED: {record}")  # type: ignore[index]


def rejected(tour: Tour) -> None:
    """Bytes that are no image: REJECTED, the original tagged for expiry."""
    image_id = tour.upload(b"this is not a picture" * 10, "fake.jpg")
    record = tour.settle(image_id)
    _expect(bool(record) and record["status"] == "REJECTED", f"not REJECTED: {record}")  # type: ignore[index]


def duplicate(tour: Tour) -> None:
    """The same bytes twice by one owner: the second reuses the first's renditions (copies)."""
    data = jpeg_bytes((240, 180))
    first = tour.upload(data)
    tour.settle(first)
    second = tour.upload(data)
    record = tour.settle(second)
    _expect(bool(record) and record.get("duplicate_of") == first, f"not a duplicate of {first}: {record}")
    similar = tour.api("GET", f"/images/{first}/similar")
    _expect(second in similar.get_data(as_text=True), "the duplicate is not among the similar images")


def reprocess_and_delete(tour: Tour) -> None:
    """POST /images/{id}/reprocess (the old renditions go), then DELETE of a PROCESSED image."""
    image_id = tour.upload(jpeg_bytes((200, 150)))
    before = tour.settle(image_id)
    _expect(tour.api("POST", f"/images/{image_id}/reprocess").status_code == 202, "reprocess refused")
    record = tour.settle(image_id, after=(before or {}).get("execution_arn"))
    _expect(bool(record) and record["status"] == "PROCESSED", f"not PROCESSED again: {record}")  # type: ignore[index]
    _expect(tour.api("DELETE", f"/images/{image_id}").status_code == 204, "delete")


def delete_while_processing(tour: Tour) -> None:
    """DELETE while resize runs: the API stops the run; resize finds the record gone, removes its output."""
    uploaded: list[str] = []
    deleted: list[int] = []

    def delete_first(params: dict[str, Any], **_: Any) -> None:
        key = json.dumps(params.get("Key", {}))
        if (
            uploaded
            and uploaded[0] in key
            and not deleted
            and moto_adapter.current_function() == "imgflow-resize"
        ):
            deleted.append(tour.api("DELETE", f"/images/{uploaded[0]}").status_code)

    tour.inject("dynamodb", "GetItem", delete_first)
    uploaded.append(tour.upload(jpeg_bytes((180, 120))))
    left = tour.settle(uploaded[0])
    _expect(deleted == [204], f"the delete did not happen during the run: {deleted}")
    _expect(bool(left) and left["status"] == "DELETED", f"not a tombstone: {left}")  # type: ignore[index]
    with _as_operator():
        s3 = tour.cloud.client("s3")
        listed = s3.list_objects_v2(Bucket=tour.cloud.settings.renditions_bucket, Prefix=f"{tour.owner}/")
    _expect(not listed.get("Contents"), f"renditions outlived the delete: {listed.get('Contents')}")


def _original_gone_for(task: str) -> Callable[[Tour], None]:
    def scenario(tour: Tour) -> None:
        missed: list[str] = []
        uploaded: list[str] = []

        def elsewhere(params: dict[str, Any], **_: Any) -> None:
            # Only this task's reads go to a key that is not there: the other branch reads the original.
            mine = moto_adapter.current_function() == f"imgflow-{task}"
            if uploaded and uploaded[0] in params.get("Key", "") and mine:
                params["Key"] += ".gone"
                missed.append(params["Key"])

        for operation in ("GetObject", "HeadObject"):
            tour.inject("s3", operation, elsewhere)
        uploaded.append(tour.upload(jpeg_bytes((120, 90))))
        record = tour.settle(uploaded[0]) or {}
        _expect(bool(missed), f"{task} never read the original")
        verdict = json.dumps([record.get("error"), record.get("reason")], default=str)
        _expect("SourceMissing" in verdict, f"not SourceMissing: {record}")

    scenario.__name__ = f"original_gone_for_{task}"
    scenario.__doc__ = f"{task} reads a missing original: a 404 (ListBucket), the image ends SourceMissing."
    return scenario


def reprocess_failed(tour: Tour) -> None:
    """An image FAILED by a storage outage, then ``reprocess`` mode failed: PROCESSED."""
    renditions = tour.cloud.settings.renditions_bucket

    def outage(params: dict[str, Any], **_: Any) -> None:

        if params.get("Bucket") == renditions and tour.owner in params.get("Key", ""):
            raise client_error("SlowDown", 503, "PutObject")

    remove = tour.inject("s3", "PutObject", outage)
    image_id = tour.upload(jpeg_bytes((150, 100)))
    failed = tour.settle(image_id)
    _expect(bool(failed) and failed["status"] == "FAILED", f"not FAILED: {failed}")  # type: ignore[index]
    remove()
    summary = tour.reprocess({"mode": "failed", "owner": tour.owner}) or {}
    done = {k: summary.get(k) for k in ("selected", "started", "succeeded", "running", "map_error")}
    _expect(
        done == {"selected": 1, "started": 1, "succeeded": 1, "running": 0, "map_error": None}, f"{summary}"
    )


def reprocess_stuck(tour: Tour) -> None:
    """``reprocess`` mode stuck: a dead letter, a PENDING image with and without its original, a PROCESSING
    one whose run is gone; then a run over every owner's PENDING images older than ten years (none)."""
    repo = tour.repository()
    never, lost, dead = keys.new_image_id(), keys.new_image_id(), keys.new_image_id()
    tour.images |= {never, lost, dead}
    bucket = tour.cloud.settings.uploads_bucket
    hook, moto_adapter.deliveries.before_delivery = moto_adapter.deliveries.before_delivery, _drop_all
    try:
        with _as_operator():
            for image_id in (never, lost, dead):
                repo.create_pending(
                    image_id=image_id, owner=tour.owner, filename="s.jpg", content_type="image/jpeg", size=1
                )
            for image_id in (lost, dead):  # originals there, but no event started a run
                s3 = tour.cloud.client("s3")
                s3.put_object(
                    Bucket=bucket, Key=keys.upload_key(tour.owner, image_id), Body=jpeg_bytes((90, 60))
                )
            repo.claim(
                image_id=dead,
                owner=tour.owner,
                bucket=bucket,
                key=keys.upload_key(tour.owner, dead),
                sequencer="0",
                execution_arn=f"{tour.cloud.ingest_arn.replace(':stateMachine:', ':execution:')}:gone-{dead}",
                pipeline_version=tour.cloud.settings.pipeline_version,
            )
            sqs = tour.cloud.client("sqs")
            assert tour.cloud.iam is not None
            queue = sqs.get_queue_url(QueueName=tour.cloud.iam.stack.queues[0])["QueueUrl"]
            sqs.send_message(QueueUrl=queue, MessageBody="not an upload event")
    finally:
        moto_adapter.deliveries.before_delivery = hook
    summary = tour.reprocess({"mode": "stuck", "owner": tour.owner, "older_than_s": 0}) or {}
    _expect((summary.get("expired"), summary.get("succeeded")) == (1, 2), f"stuck: {summary}")
    everyone = tour.reprocess({"mode": "stuck", "older_than_s": 10 * 365 * 24 * 3600}) or {}
    _expect(everyone.get("selected") == 0, f"stuck, older than ten years: {everyone}")


def _drop_all(event: dict[str, Any], _target: str) -> None:
    raise ConnectionError("tour: event dropped")


SCENARIOS: tuple[Callable[[Tour], None], ...] = (
    upload_and_read,
    inline_upload,
    rejected,
    duplicate,
    reprocess_and_delete,
    delete_while_processing,
    _original_gone_for("validate"),
    _original_gone_for("extract_meta"),
    _original_gone_for("resize"),
    reprocess_failed,
    reprocess_stuck,
)


def every_role() -> list[str]:
    """Every principal with a template role: the functions (by their handlers) and both state machines."""
    return sorted([*local_function_names().values(), *map(machine_principal, STATE_MACHINE_OUTPUTS.values())])


Calls = dict[str, dict[tuple[str, str], int]]


def _snapshot(book: Calls) -> Calls:
    return {name: dict(calls) for name, calls in book.items()}


def _new(after: Calls, before: Calls) -> dict[str, set[tuple[str, str]]]:
    return {
        name: {call for call, n in calls.items() if n > before.get(name, {}).get(call, 0)}
        for name, calls in after.items()
        if any(n > before.get(name, {}).get(call, 0) for call, n in calls.items())
    }


@dataclass
class Toured:
    """What the tour's scenarios called, per scenario and role, as the endpoint recorded it."""

    #: Scenario name -> role -> the (action, resource) pairs it was allowed.
    calls: dict[str, dict[str, set[tuple[str, str]]]]
    #: Scenario name -> role -> the pairs it was refused (none when every role is as deployed).
    denied: dict[str, dict[str, set[tuple[str, str]]]]
    #: Scenario name -> what went wrong (its evidence).
    failures: dict[str, str]

    @classmethod
    def run(cls, cloud: LocalCloud) -> Toured:
        calls: dict[str, dict[str, set[tuple[str, str]]]] = {}
        denied: dict[str, dict[str, set[tuple[str, str]]]] = {}
        failures: dict[str, str] = {}
        for scenario in SCENARIOS:
            result = play(cloud, scenario)
            calls[scenario.__name__] = result.calls
            if result.denied:
                denied[scenario.__name__] = result.denied
            if result.error:
                failures[scenario.__name__] = f"{result.error}\n{result.evidence}"
        return cls(calls, denied, failures)

    def used_by(self, role: str) -> set[tuple[str, str]]:
        return {call for per_role in self.calls.values() for call in per_role.get(role, set())}

    def first_scenario(self, role: str, grant: tuple[str, str]) -> str | None:
        """The first scenario whose calls as ``role`` use ``grant``."""
        for name, per_role in self.calls.items():
            if any(policy.covers(grant, call) for call in per_role.get(role, set())):
                return name
        return None


def policy_covers(grant: tuple[str, str], call: tuple[str, str]) -> bool:
    return policy.covers(grant, call)


@dataclass
class Played:
    """One scenario played: the calls per role, those refused, its error (None: it did what it says)."""

    calls: dict[str, set[tuple[str, str]]]
    denied: dict[str, set[tuple[str, str]]]
    error: str | None
    evidence: str
    #: The records and the runs' failures alone.
    outcomes: str


def play(cloud: LocalCloud, scenario: Callable[[Tour], None]) -> Played:
    """Play one scenario on ``cloud`` and return what it called and what it left as evidence."""
    assert cloud.iam is not None and cloud.iam.enforcer is not None
    usage = cloud.iam.enforcer.usage
    allowed_before, denied_before = _snapshot(usage.allowed), _snapshot(usage.denied)
    error: str | None = None
    with injecting() as inject, touring(cloud, inject) as tour:
        try:
            scenario(tour)
        except Exception as exc:  # the evidence of a scenario that went wrong
            error = f"{type(exc).__name__}: {exc}"
            tour.evidence.append(error)
    return Played(
        calls=_new(_snapshot(usage.allowed), allowed_before),
        denied=_new(_snapshot(usage.denied), denied_before),
        error=error,
        evidence=tour.text(),
        outcomes=tour.outcomes,
    )


def without(policies: tuple[dict[str, Any], ...], grant: tuple[str, str]) -> tuple[dict[str, Any], ...]:
    """The policies with ``grant`` (one action on one resource, as written) taken out, all else kept."""
    action, resource = grant

    def listed(value: Any) -> list[str]:
        return [value] if isinstance(value, str) else list(value or [])

    out = []
    for document in policies:
        statements: list[dict[str, Any]] = []
        for statement in policy.statements([document]):
            actions, resources = listed(statement.get("Action")), listed(statement.get("Resource"))
            if statement.get("Effect") != "Allow" or action not in actions or resource not in resources:
                statements.append(statement)
                continue
            if others := [a for a in actions if a != action]:
                statements.append({**statement, "Action": others})
            if rest := [r for r in resources if r != resource]:
                statements.append({**statement, "Action": [action], "Resource": rest})
        out.append({**document, "Statement": statements})
    return tuple(out)


def map_item_actions() -> set[str]:
    """The calls the reprocess machine makes for each Distributed Map item (its ItemProcessor's integrations).

    moto's Distributed Map swallows a failed item (pinned by tests/workflow/test_moto_adapter.py,
    ``test_upstream_distributed_map_ignores_its_failed_children``): a refusal there shows in the run's outcome
    and in the endpoint's refusals, not in the execution.
    """
    found: set[str] = set()

    def walk(states: dict[str, Any], inside: bool) -> None:
        for state in states.values():
            processor = state.get("ItemProcessor") or state.get("Iterator")
            if processor:
                walk(processor["States"], True)
            resource = str(state.get("Resource", ""))
            if inside and resource.startswith("arn:aws:states:::states:"):
                api = resource.split(":::states:", 1)[1].split(".", 1)[0]
                found.add(f"states:{api[0].upper()}{api[1:]}")
                if ".sync" in resource:
                    found.add("states:DescribeExecution")

    walk(json.loads(definition_text(REPROCESS))["States"], False)
    return found


def removal_misses(cloud: LocalCloud, toured: Toured, role: str) -> list[str]:
    """For each grant of ``role`` the tour used: the scenario that first used it, played without it. What is
    returned are the grants whose removal went unnoticed (no refusal, no failure, or AccessDenied unnamed)."""
    assert cloud.iam is not None
    session = cloud.iam.keys.sessions[role]
    assert session.role is not None
    scenarios = {s.__name__: s for s in SCENARIOS}
    used = [(g, n) for g in policy.grants(session.role.policies) if (n := toured.first_scenario(role, g))]
    if not used:
        return [f"the tour made no call as {role}"]
    swallowed = map_item_actions() if role == machine_principal("imgflow-reprocess") else set()
    unnoticed = []
    for grant, name in used:
        undo = cloud.iam.restrict(role, without(session.role.policies, grant))
        try:
            played = play(cloud, scenarios[name])
        finally:
            undo()
        refused = any(policy.covers(grant, call) for call in played.denied.get(role, set()))
        # Noticed: a run or record names the refusal (the run failed with it), or the scenario went wrong
        # and its evidence names it (an API answer, the function's log).
        in_outcomes = any(text in played.outcomes for text in DENIED)
        named = any(text in played.evidence for text in DENIED) or grant[0] in swallowed
        if not (refused and (in_outcomes or (named and played.error))):
            unnoticed.append(
                f"{grant[0]} on {grant[1]} ({name}): refused={refused} named={named}\n{played.evidence}"
            )
    return unnoticed
