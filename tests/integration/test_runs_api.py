"""GET /images/{id}/runs and GET /workflow over real HTTP against ``imgflow serve``."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from imgflow.workflow import asl
from tests.support.asl import branch_parents, default_path
from tests.support.images import jpeg_bytes
from tests.support.served import Stack, new_upload, post_file
from tests.support.waiting import until


def _upload(stack: Stack, session: requests.Session, data: bytes) -> dict[str, Any]:
    ticket = new_upload(session, stack.api, size=len(data))
    assert post_file(ticket, data).status_code == 204
    image = stack.wait_final(session, ticket["id"])

    def ended() -> bool | None:  # the record is final in its Record* state, a moment before the run ends
        return all(r["status"] != "RUNNING" for r in _runs(stack, session, image["id"])) or None

    until(ended, what=f"the end of {image['id']}'s run")
    return image


@pytest.fixture(scope="module")
def carol(stack: Stack) -> requests.Session:
    return stack.session("carol")


def _runs(stack: Stack, session: requests.Session, image_id: str) -> list[dict[str, Any]]:
    response = session.get(f"{stack.api}/images/{image_id}/runs", timeout=30)
    assert response.status_code == 200, response.text
    return list(response.json()["runs"])


def test_an_images_runs_newest_first_state_by_state(stack: Stack, carol: requests.Session) -> None:
    image = _upload(stack, carol, jpeg_bytes())
    assert image["status"] == "PROCESSED"

    (run,) = _runs(stack, carol, image["id"])
    assert (run["status"], run["image_id"], run["final_state"]) == ("SUCCEEDED", image["id"], "Processed")
    definition = json.loads(asl.definition_text("ingest"))
    top = [s["name"] for s in run["states"] if s["parent"] is None]
    assert top == default_path(definition)  # a first upload: Known takes its Default, Process
    nested = {s["name"]: s["parent"] for s in run["states"] if s["parent"]}
    assert nested == branch_parents(definition)
    assert all(s["status"] == "SUCCEEDED" and s["duration_s"] is not None for s in run["states"])
    assert run["duration_s"] > 0 and run["started_at"] < run["stopped_at"]

    response = carol.post(f"{stack.api}/images/{image['id']}/reprocess", timeout=10)
    assert response.status_code == 202, response.text
    again = response.json()["execution_arn"]

    def both_ended() -> list[dict[str, Any]] | None:
        runs = _runs(stack, carol, image["id"])
        return runs if len(runs) >= 2 and runs[0]["status"] != "RUNNING" else None

    runs = until(both_ended, interval=0.2, what="the reprocess run's end in GET /images/{id}/runs")
    assert [r["execution_arn"] for r in runs] == [again, run["execution_arn"]]  # newest first
    assert runs[0]["status"] == "SUCCEEDED"
    # Reading runs is not an access of the image (the web page polls it).
    accesses = carol.get(f"{stack.api}/images/{image['id']}", timeout=10).json()["access_count"]
    _runs(stack, carol, image["id"])
    assert carol.get(f"{stack.api}/images/{image['id']}", timeout=10).json()["access_count"] == accesses + 1


def test_a_rejected_images_run_shows_the_catch(stack: Stack, carol: requests.Session) -> None:
    data = jpeg_bytes()
    image = _upload(stack, carol, data[: len(data) // 2])
    assert image["status"] == "REJECTED"

    (run,) = _runs(stack, carol, image["id"])
    validate = next(s for s in run["states"] if s["name"] == "Validate")
    assert validate["status"] == "CAUGHT" and validate["caught_by"] == "RecordRejected"
    assert validate["error"]["error"] == "TruncatedImage" and "Traceback" not in json.dumps(run)
    assert run["final_state"] == "Rejected"


def test_runs_are_owner_scoped(stack: Stack, carol: requests.Session) -> None:
    image = _upload(stack, carol, jpeg_bytes((320, 240)))
    dave = stack.session("dave")
    assert dave.get(f"{stack.api}/images/{image['id']}/runs", timeout=10).status_code == 404
    assert carol.get(f"{stack.api}/images/nosuchimage/runs", timeout=10).status_code == 404
    assert requests.get(f"{stack.api}/images/{image['id']}/runs", timeout=10).status_code == 401


def test_the_workflow_graph_is_the_asl_files(stack: Stack, carol: requests.Session) -> None:
    response = carol.get(f"{stack.api}/workflow", timeout=10)
    assert response.status_code == 200, response.text
    graph = response.json()
    definition = json.loads(asl.definition_text("ingest"))
    top = [s["name"] for s in graph["states"] if s["parent"] is None]
    assert top == list(definition["States"])
    assert {"Resize", "ExtractMeta"} <= {s["name"] for s in graph["states"]}
    assert {"from": "Validate", "to": "RecordRejected", "kind": "catch"}.items() <= next(
        e for e in graph["edges"] if e["from"] == "Validate" and e["to"] == "RecordRejected"
    ).items()
    assert requests.get(f"{stack.api}/workflow", timeout=10).status_code == 401


def test_the_routes_are_documented(stack: Stack) -> None:
    spec = requests.get(f"{stack.api}/openapi.json", timeout=10).json()
    assert "get" in spec["paths"]["/images/{image_id}/runs"] and "get" in spec["paths"]["/workflow"]
    edge = spec["components"]["schemas"]["GraphEdge"]
    assert "from" in edge["properties"]
