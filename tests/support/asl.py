"""The states of an ASL definition as the tests walk them: nested ones (Parallel branches, Map) included."""

from __future__ import annotations

from typing import Any


def all_states(machine: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every state of a definition, nested ones included (ASL names are unique machine-wide)."""
    found: dict[str, dict[str, Any]] = {}
    for name, state in machine["States"].items():
        found[name] = state
        for sub in state.get("Branches", []):
            found.update(all_states(sub))
        if "ItemProcessor" in state or "Iterator" in state:
            found.update(all_states(state.get("ItemProcessor") or state["Iterator"]))
    return found


def task_states(machine: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The Task states of a definition, nested ones included."""
    return {name: state for name, state in all_states(machine).items() if state["Type"] == "Task"}


def default_path(machine: dict[str, Any]) -> list[str]:
    """The top-level states of a run where nothing is caught and every Choice takes its Default."""
    path, name = [], machine["StartAt"]
    while name:
        path.append(name)
        state = machine["States"][name]
        name = state.get("Next") or state.get("Default")
    return path


def branch_parents(machine: dict[str, Any]) -> dict[str, str]:
    """Each state inside a Parallel's branches -> that Parallel's name (top level only)."""
    return {
        child: name
        for name, state in machine["States"].items()
        for branch in state.get("Branches", [])
        for child in branch["States"]
    }
