"""The checks CI runs without AWS: cdk-nag, cfn-lint and asl-validator, all run from pytest."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import infra.nag
from tests.support.synth import SKIP_BUNDLING, Synth

REPO = Path(__file__).resolve().parents[2]
#: W3005 (DependsOn already implied by a GetAtt): CDK adds an explicit DependsOn on a Lambda's or state
#: machine's role policy next to the GetAtt on the role; harmless and not ours to change.
CFN_LINT_IGNORED = ["W3005"]


def violations(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (violation["ruleName"], construct["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]


@pytest.mark.parametrize("variant", ["synth", "synth_existing"])
def test_cdk_nag_has_no_unacknowledged_findings(variant: str, request: pytest.FixtureRequest) -> None:
    synth: Synth = request.getfixturevalue(variant)
    assert violations(synth.validation_report()) == []  # errors would have failed synth; warnings too


def test_every_acknowledgement_is_needed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Synthesize with acknowledgements recorded but not applied: each must match a real finding, exactly."""
    from aws_cdk import Validations

    acknowledged: list[tuple[str, str, str]] = []

    class Recording:
        @staticmethod
        def of(scope: Any) -> Any:
            real = Validations.of(scope)

            class Recorder:
                add_plugins = real.add_plugins

                @staticmethod
                def acknowledge(ack: Any) -> None:
                    acknowledged.append((scope.node.path, ack.id, ack.reason))

            return Recorder()

    monkeypatch.setattr(infra.nag, "Validations", Recording)
    from infra.app import build_app

    findings: list[tuple[str, str]] = []
    for name, context in {"default": {}, "existing": {"existingBucketName": "acme-existing-uploads"}}.items():
        app, _ = build_app({**SKIP_BUNDLING, **context}, str(tmp_path / name))
        with pytest.raises(RuntimeError, match="ValidationFailed"):
            app.synth()
        findings += violations(json.loads((tmp_path / name / "validation-report.json").read_text()))
    assert acknowledged
    for path, rule, _reason in acknowledged:
        assert any(r == rule and p.startswith(path + "/") for r, p in findings), f"unused: {rule} on {path}"
    for rule, path in findings:
        assert any(r == rule and path.startswith(p + "/") for p, r, _ in acknowledged), f"{rule} at {path}"


def test_cfn_lint_is_clean(synth: Synth, synth_existing: Synth) -> None:
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent)) or shutil.which("cfn-lint")
    assert cfn_lint, "cfn-lint is not installed (requirements/dev.lock)"
    command = [cfn_lint, "--ignore-checks", *CFN_LINT_IGNORED, "--"]
    result = subprocess.run(
        [*command, str(synth.template_path), str(synth_existing.template_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_asl_validator_on_every_statemachine_file() -> None:
    paths = sorted((REPO / "statemachine").glob("*.json"))
    assert {p.name for p in paths} >= {"ingest.asl.json", "reprocess.asl.json"}
    npx = shutil.which("npx")
    if npx is None or not (REPO / "node_modules" / ".bin" / "asl-validator").exists():
        pytest.fail("asl-validator is not installed: run `make setup` (npm ci)")
    command = [npx, "--no-install", "asl-validator"]
    for path in paths:
        command += ["--json-path", str(path)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    for path in paths:
        assert f'"{path}" is valid' in result.stdout
