"""One door to AWS: only the access modules create boto3 clients or call ``imgflow.aws.client``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: The access modules: every AWS call of the runtime goes through one of these.
ACCESS = {
    "imgflow/aws.py",
    "imgflow/objects.py",
    "imgflow/queues.py",
    "imgflow/records/repository.py",
    "imgflow/workflow/executions.py",
}
RUNTIME = sorted(
    str(p.relative_to(REPO))
    for top in ("imgflow", "tasks", "api")
    for p in (REPO / top).rglob("*.py")
    if "__pycache__" not in p.parts
)


def _doors(source: str) -> list[str]:
    """What in ``source`` opens AWS itself: boto3 imports and ``aws.client(...)`` calls."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            found += [f"import {n}" for n in names if n.split(".")[0] == "boto3"]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "client":
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id == "aws":
                found.append(f"aws.client (line {node.lineno})")
    return found


@pytest.mark.parametrize("path", [p for p in RUNTIME if p not in ACCESS])
def test_runtime_code_reaches_aws_only_through_the_access_modules(path: str) -> None:
    assert _doors((REPO / path).read_text()) == []


def test_the_check_sees_a_client_made_outside_the_door() -> None:
    assert _doors("import boto3\nfrom imgflow import aws\naws.client('s3').put_object()\n") == [
        "import boto3",
        "aws.client (line 3)",
    ]
