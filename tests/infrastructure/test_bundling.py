"""One real bundle: a task asset from the local pip bundler holds its handler, imgflow and Linux Pillow."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_

from imgflow.functions import TASKS
from infra.bundling import python_code
from infra.config import PYTHON_VERSION, RUNTIME, StageConfig
from infra.constructs.functions import TASK_REQUIREMENTS

#: ELF e_machine of the target architecture (the .so files must be for Lambda, not for this machine).
ELF_MACHINE = {"arm64": 183, "x86_64": 62}


@pytest.mark.slow
def test_task_bundle_holds_handler_imgflow_and_target_pillow(tmp_path: Path) -> None:
    spec = next(s for s in TASKS if s.name == "resize")
    config = StageConfig()
    app = App(outdir=str(tmp_path / "cdk.out"))  # bundling on: no aws:cdk:bundling-stacks override
    stack = Stack(app, "BundleProbe")
    lambda_.Function(
        stack,
        "Task",
        runtime=RUNTIME,
        architecture=config.lambda_architecture,
        handler=spec.handler,
        code=python_code(
            ["tasks/__init__.py", spec.source],
            requirements=TASK_REQUIREMENTS,
            platforms=config.pip_platforms,
            python_version=PYTHON_VERSION,
            runtime=RUNTIME,
        ),
    )
    app.synth()
    (bundle,) = [p for p in (tmp_path / "cdk.out").glob("asset.*") if p.is_dir()]
    module = spec.handler.rsplit(".", 1)[0].replace(".", "/") + ".py"
    assert (bundle / module).is_file()
    assert (bundle / "tasks" / "__init__.py").is_file()
    assert (bundle / "imgflow" / "__init__.py").is_file() and (bundle / "imgflow" / "workflow.py").is_file()
    assert not list(bundle.rglob("__pycache__")), "no bytecode of this machine's Python"
    assert not (bundle / "tasks" / "record").exists(), "a task bundles its own code only"

    assert (bundle / "PIL" / "Image.py").is_file()
    (imaging,) = (bundle / "PIL").glob("_imaging.*.so")
    arch = "aarch64" if config.architecture == "arm64" else "x86_64"
    assert imaging.name == f"_imaging.cpython-{PYTHON_VERSION.replace('.', '')}-{arch}-linux-gnu.so"
    header = imaging.read_bytes()[:20]
    assert header[:4] == b"\x7fELF"
    assert int.from_bytes(header[18:20], "little") == ELF_MACHINE[config.architecture]
    (dist,) = bundle.glob("pillow-*.dist-info")
    wheel = (dist / "WHEEL").read_text()
    assert "manylinux" in wheel and arch in wheel
    assert dist.name.startswith("pillow-13.0.0"), "the pin in requirements/lambda.txt"


def test_api_bundle_draws_the_workflow_graph_from_its_own_asl_file(tmp_path: Path) -> None:
    """GET /workflow reads statemachine/ingest.asl.json: the API bundle must hold it where imgflow looks."""
    import json
    import subprocess
    import sys

    from infra.bundling import REPO
    from infra.constructs.api import API_REQUIREMENTS, API_SOURCES

    config = StageConfig()
    app = App(outdir=str(tmp_path / "cdk.out"))
    stack = Stack(app, "ApiBundleProbe")
    lambda_.Function(
        stack,
        "Api",
        runtime=RUNTIME,
        handler="api.handler.lambda_handler",
        code=python_code(
            list(API_SOURCES),
            requirements=API_REQUIREMENTS if (REPO / API_REQUIREMENTS).exists() else None,
            platforms=config.pip_platforms,
            python_version=PYTHON_VERSION,
            runtime=RUNTIME,
        ),
    )
    app.synth()
    (bundle,) = [p for p in (tmp_path / "cdk.out").glob("asset.*") if p.is_dir()]
    assert (bundle / "statemachine" / "ingest.asl.json").read_text() == (
        REPO / "statemachine" / "ingest.asl.json"
    ).read_text()
    probe = (
        "import json; from imgflow import asl_graph, workflow; "
        "print(json.dumps([str(workflow.definition_path()), asl_graph.workflow_graph()]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=bundle,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(bundle), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    path, graph = json.loads(done.stdout)
    assert path == str(bundle / "statemachine" / "ingest.asl.json")  # the bundle's copy, not the repo's
    names = {s["name"] for s in graph["states"]}
    assert {"Claim", "Validate", "Resize", "ExtractMeta", "Failed"} <= names
