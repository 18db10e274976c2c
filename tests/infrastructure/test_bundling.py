"""Real bundles: a task asset holds its handler, imgflow, Linux Pillow and pillow-heif; a HEIC opens."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_

from imgflow.workflow.functions import TASKS
from infra.bundling import LocalPipBundler
from infra.config import PYTHON_VERSION, RUNTIME, StageConfig
from infra.constructs.functions import TASK_REQUIREMENTS, task_code

#: ELF e_machine of the target architecture (the .so files must be for Lambda, not for this machine).
ELF_MACHINE = {"arm64": 183, "x86_64": 62}
REPO = Path(__file__).resolve().parents[2]


def _py(root: Path) -> list[Path]:
    if not root.exists():
        return []
    return [p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts]


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
        code=task_code(config, spec.source),
    )
    app.synth()
    (bundle,) = [p for p in (tmp_path / "cdk.out").glob("asset.*") if p.is_dir()]
    module = spec.handler.rsplit(".", 1)[0].replace(".", "/") + ".py"
    assert (bundle / module).is_file()
    assert (bundle / "tasks" / "__init__.py").is_file()
    assert (bundle / "imgflow" / "workflow" / "asl.py").is_file()
    assert not list(bundle.rglob("__pycache__")), "no bytecode of this machine's Python"
    assert not (bundle / "tasks" / "record").exists(), "a task bundles its own code only"
    # First-party files: exactly the runtime package and this task's own folder, never the tools.
    task_dir = Path(*spec.source.split("/"))
    tops = ("imgflow", "imgflow_tools", "tasks", "api")
    first_party = sorted(str(p.relative_to(bundle)) for top in tops for p in _py(bundle / top))
    expected = sorted(
        [str(p.relative_to(REPO)) for p in _py(REPO / "imgflow")]
        + [str(p.relative_to(REPO)) for p in _py(REPO / task_dir)]
        + ["tasks/__init__.py"]
    )
    assert first_party == expected

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
    # HEIC support for the target: pillow-heif's wheel and its native module (libheif, libde265 beside it).
    (heif_dist,) = bundle.glob("pillow_heif-*.dist-info")
    heif_wheel = (heif_dist / "WHEEL").read_text()
    assert (
        "manylinux" in heif_wheel
        and arch in heif_wheel
        and f"cp{PYTHON_VERSION.replace('.', '')}" in heif_wheel
    )
    (native,) = bundle.glob("_pillow_heif.*.so")
    assert native.name == f"_pillow_heif.cpython-{PYTHON_VERSION.replace('.', '')}-{arch}-linux-gnu.so"
    assert int.from_bytes(native.read_bytes()[18:20], "little") == ELF_MACHINE[config.architecture]
    libs = {p.name.split("-")[0] for p in (bundle / "pillow_heif.libs").iterdir()}
    assert {"libheif", "libde265"} <= libs


def test_api_bundle_draws_the_workflow_graph_from_its_own_asl_file(tmp_path: Path) -> None:
    """GET /workflow reads statemachine/ingest.asl.json: the API bundle must hold it where imgflow looks."""
    import json
    import subprocess
    import sys

    from infra.bundling import REPO
    from infra.constructs.api import api_code

    config = StageConfig()
    app = App(outdir=str(tmp_path / "cdk.out"))
    stack = Stack(app, "ApiBundleProbe")
    lambda_.Function(
        stack,
        "Api",
        runtime=RUNTIME,
        handler="api.handler.lambda_handler",
        code=api_code(config),
    )
    app.synth()
    (bundle,) = [p for p in (tmp_path / "cdk.out").glob("asset.*") if p.is_dir()]
    assert (bundle / "statemachine" / "ingest.asl.json").read_text() == (
        REPO / "statemachine" / "ingest.asl.json"
    ).read_text()
    probe = (
        "import json; from imgflow.workflow import asl, asl_graph; "
        "print(json.dumps([str(asl.definition_path()), asl_graph.workflow_graph()]))"
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


@pytest.mark.slow
def test_the_task_requirements_open_a_heic_when_bundled(tmp_path: Path, corpus: Path) -> None:
    """The same requirements and bundler, for this machine's platform (the target's .so cannot run here):
    a fresh interpreter that sees only the bundle opens the iPhone HEIC through imgflow's own code."""
    machine = platform.machine()
    bundler = LocalPipBundler(
        ["tasks/__init__.py", "tasks/extract_meta"],
        TASK_REQUIREMENTS,
        [f"manylinux_2_28_{machine}", f"manylinux2014_{machine}"],
        f"{sys.version_info.major}.{sys.version_info.minor}",
    )
    bundler.try_bundle(str(tmp_path), None)
    probe = (
        "import sys; sys.path[:0] = [sys.argv[1]]\n"
        "import PIL, pillow_heif\n"
        "assert PIL.__file__.startswith(sys.argv[1]) and pillow_heif.__file__.startswith(sys.argv[1])\n"
        "from imgflow.config import Limits\n"
        "from tasks.extract_meta.metadata import extract_metadata\n"
        "from imgflow.image.opening import open_image\n"
        "data = open(sys.argv[2], 'rb').read()\n"
        "meta = extract_metadata(data, Limits())\n"
        "im = open_image(data, Limits()); im.load()\n"
        "print(meta['format'], meta['exif']['model'], im.size)\n"
    )
    heic = corpus / "exif-camera" / "heic" / "IMG_5195.HEIC"
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe, str(tmp_path), str(heic)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "HEIF iPhone 11 Pro Max (2566, 3313)"
