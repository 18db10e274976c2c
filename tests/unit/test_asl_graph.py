"""The workflow graph comes from the ASL files: every state, every transition, nothing drawn by hand."""

from __future__ import annotations

import json
from typing import Any

import pytest

from imgflow.workflow import asl, asl_graph
from tests.support.asl import all_states


def _targets(state: dict[str, Any]) -> set[str]:
    targets = {state[k] for k in ("Next", "Default") if k in state}
    targets |= {c["Next"] for c in state.get("Choices", []) + state.get("Catch", [])}
    targets |= {b["StartAt"] for b in state.get("Branches", [])}
    if "ItemProcessor" in state or "Iterator" in state:
        targets.add((state.get("ItemProcessor") or state["Iterator"])["StartAt"])
    return targets


@pytest.mark.parametrize("name", ["ingest", "reprocess"])
def test_every_state_and_transition_of_the_asl_file_is_in_the_graph(name: str) -> None:
    definition = json.loads(asl.definition_text(name))
    graph = asl_graph.graph(definition)
    expected = all_states(definition)

    assert [s["name"] for s in graph["states"]] == list(expected)  # none missing, none invented, in order
    names = {s["name"] for s in graph["states"]}
    for edge in graph["edges"]:
        assert edge["from"] in names and edge["to"] in names, edge
        assert edge["kind"] in asl_graph.EDGE_KINDS
    for state_name, state in expected.items():
        out = {e["to"] for e in graph["edges"] if e["from"] == state_name}
        assert out == _targets(state), state_name
        node = next(s for s in graph["states"] if s["name"] == state_name)
        assert node["type"] == state["Type"] and node["comment"] == state.get("Comment", "")
        assert len(node["retry"]) == len(state.get("Retry", []))


def test_ingest_graph_shows_the_parallel_branches_catches_and_retries() -> None:
    graph = asl_graph.workflow_graph("ingest")
    by_name = {s["name"]: s for s in graph["states"]}
    edges = {(e["from"], e["to"], e["kind"]) for e in graph["edges"]}

    assert graph["start_at"] == "Claim" and by_name["Claim"]["start"]
    assert by_name["Resize"]["parent"] == "Process" and by_name["ExtractMeta"]["parent"] == "Process"
    assert {by_name["Resize"]["branch"], by_name["ExtractMeta"]["branch"]} == {0, 1}
    assert ("Process", "Resize", "branch") in edges and ("Process", "ExtractMeta", "branch") in edges
    assert ("Validate", "RecordRejected", "catch") in edges
    assert ("Claim", "Duplicate", "catch") in edges
    assert ("Validate", "Known", "next") in edges
    # Exact duplicates skip the Parallel: the Choice sends them to Reuse, which falls back to Process.
    assert {("Known", "Reuse", "choice"), ("Known", "Process", "default")} <= edges
    assert {("Reuse", "RecordProcessed", "next"), ("Reuse", "Process", "catch")} <= edges
    rejected = next(e for e in graph["edges"] if (e["from"], e["to"]) == ("Validate", "RecordRejected"))
    assert "TruncatedImage" in rejected["label"]
    assert any("TransientError" in r["errors"] for r in by_name["Resize"]["retry"])
    assert by_name["Failed"]["end"] and by_name["Failed"]["type"] == "Fail"


def test_choice_rules_default_and_map_iterations() -> None:
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Check",
                    "States": {
                        "Check": {
                            "Type": "Choice",
                            "Choices": [
                                {"And": [{"Variable": "$.a", "IsPresent": True}], "Next": "Go"},
                                {"Variable": "$.b", "NumericEquals": 2, "Next": "Stop"},
                            ],
                            "Default": "Stop",
                        },
                        "Go": {"Type": "Pass", "End": True},
                        "Stop": {"Type": "Succeed"},
                    },
                },
                "End": True,
            }
        },
    }
    graph = asl_graph.graph(definition)
    assert [(s["name"], s["parent"]) for s in graph["states"]] == [
        ("Each", None),
        ("Check", "Each"),
        ("Go", "Each"),
        ("Stop", "Each"),
    ]
    assert [(e["from"], e["to"], e["kind"], e.get("label")) for e in graph["edges"]] == [
        ("Each", "Check", "branch", "each item"),
        ("Check", "Go", "choice", "And($.a IsPresent true)"),
        ("Check", "Stop", "choice", "$.b NumericEquals 2"),
        ("Check", "Stop", "default", None),
    ]


def test_every_ingest_state_says_what_it_does_in_a_sentence() -> None:
    """What operators read in the console next to each state (and the web page's graph shows)."""
    for state in asl_graph.workflow_graph("ingest")["states"]:
        comment = state["comment"]
        assert comment[:1].isupper() and comment.endswith(".") and len(comment.split()) >= 6, state["name"]
