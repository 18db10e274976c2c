"""A state machine's graph, read from its ASL definition: states and the edges between them.

For drawing (the web page) and for tests: nothing here is hand-drawn, so a state added to the ASL file shows
up, and one removed disappears. Branches of a Parallel and the iteration of a Map are nested: their states
name the Parallel/Map as ``parent``; an edge of kind ``branch`` goes from it to each branch's first state.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from imgflow.workflow import asl

#: Edge kinds: ``next`` (Next), ``catch`` (a Catch), ``default`` (a Choice's Default), ``choice`` (a rule),
#: ``branch`` (a Parallel to each branch's StartAt, a Map to its iteration's StartAt).
EDGE_KINDS = ("next", "catch", "default", "choice", "branch")
#: Keys of a Choice rule that are not its comparison.
_RULE_META = {"Next", "Comment", "Assign", "Output"}


def _condition(rule: dict[str, Any]) -> str:
    """A Choice rule in short text: ``$.x IsPresent true``, ``And(...)``, or a JSONata ``Condition``."""
    if "Condition" in rule:
        return str(rule["Condition"])
    for combinator in ("And", "Or"):
        if combinator in rule:
            return f"{combinator}(" + ", ".join(_condition(r) for r in rule[combinator]) + ")"
    if "Not" in rule:
        return f"Not({_condition(rule['Not'])})"
    variable = rule.get("Variable", "")
    tests = [f"{k} {json.dumps(v)}" for k, v in rule.items() if k not in _RULE_META | {"Variable"}]
    return " ".join([variable, *tests]).strip()


def _retries(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "errors": list(r.get("ErrorEquals", [])),
            "max_attempts": r.get("MaxAttempts", 3),
            "interval_s": r.get("IntervalSeconds", 1),
            "backoff_rate": r.get("BackoffRate", 2.0),
        }
        for r in state.get("Retry", [])
    ]


def _walk(
    states: dict[str, Any],
    start: str,
    parent: str | None,
    branch: int | None,
    out_states: list[dict[str, Any]],
    out_edges: list[dict[str, Any]],
) -> None:
    for name, state in states.items():
        kind = state["Type"]
        out_states.append(
            {
                "name": name,
                "type": kind,
                "comment": state.get("Comment", ""),
                "parent": parent,
                "branch": branch,
                "start": name == start,
                "end": bool(state.get("End")) or kind in ("Succeed", "Fail"),
                "retry": _retries(state),
            }
        )
        if "Next" in state:
            out_edges.append({"from": name, "to": state["Next"], "kind": "next"})
        for rule in state.get("Choices", []):
            out_edges.append({"from": name, "to": rule["Next"], "kind": "choice", "label": _condition(rule)})
        if "Default" in state:
            out_edges.append({"from": name, "to": state["Default"], "kind": "default"})
        for catcher in state.get("Catch", []):
            errors = list(catcher.get("ErrorEquals", []))
            out_edges.append(
                {"from": name, "to": catcher["Next"], "kind": "catch", "label": ", ".join(errors)}
            )
        if kind == "Parallel":
            for index, sub in enumerate(state.get("Branches", [])):
                out_edges.append(
                    {"from": name, "to": sub["StartAt"], "kind": "branch", "label": f"branch {index}"}
                )
                _walk(sub["States"], sub["StartAt"], name, index, out_states, out_edges)
        elif kind == "Map":
            sub = state.get("ItemProcessor") or state.get("Iterator") or {}
            if sub:
                out_edges.append({"from": name, "to": sub["StartAt"], "kind": "branch", "label": "each item"})
                _walk(sub["States"], sub["StartAt"], name, None, out_states, out_edges)


def graph(definition: dict[str, Any]) -> dict[str, Any]:
    """A definition as ``{start_at, comment, states: [{name, type, comment, parent, ...}], edges}``.

    States come in definition order, each nested state right after the states before its Parallel/Map;
    every edge's ``from`` and ``to`` is a state in ``states``. Choice and Catch edges carry a ``label`` (the
    condition, the errors caught); states carry their ``retry`` rules.
    """
    states: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    _walk(definition["States"], definition["StartAt"], None, None, states, edges)
    return {
        "start_at": definition["StartAt"],
        "comment": definition.get("Comment", ""),
        "states": states,
        "edges": edges,
    }


@cache
def workflow_graph(name: str = asl.INGEST) -> dict[str, Any]:
    """The graph of ``statemachine/<name>.asl.json`` (placeholders left as they are: they are only ARNs)."""
    return graph(json.loads(asl.definition_text(name)))
