"""The CDK app as the infrastructure tests synthesize it (bundling skipped, cdk-nag on) and read it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import Stack
from aws_cdk.assertions import Template
from constructs import IConstruct

from infra.app import build_app
from infra.stack import ImgflowStack

SKIP_BUNDLING: dict[str, Any] = {"aws:cdk:bundling-stacks": []}
EXISTING_BUCKET = "acme-existing-uploads"


@dataclass
class Synth:
    stack: ImgflowStack
    outdir: Path
    template: Template
    resources: dict[str, dict[str, Any]]
    outputs: dict[str, Any]
    template_path: Path

    def logical_id(self, construct: IConstruct) -> str:
        """The logical id of a construct's CloudFormation resource (L2 or L1)."""
        child = getattr(construct.node, "default_child", None) or construct
        return Stack.of(self.stack).get_logical_id(child)  # type: ignore[arg-type]

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}

    def validation_report(self) -> dict[str, Any]:
        return json.loads((self.outdir / "validation-report.json").read_text())


def synthesize(outdir: Path, **context: Any) -> Synth:
    app, stack = build_app({**SKIP_BUNDLING, **context}, str(outdir))
    assembly = app.synth()
    artifact = assembly.get_stack_artifact(stack.artifact_id)
    data = artifact.template
    return Synth(
        stack=stack,
        outdir=outdir,
        template=Template.from_json(data),
        resources=data["Resources"],
        outputs=data.get("Outputs", {}),
        template_path=Path(artifact.template_full_path),
    )


def render(value: Any) -> Any:
    """Intrinsics as readable strings: GetAtt -> ``<Id.Attr>``, Ref -> ``<Id>``, Join concatenated."""
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            logical, attr = value["Fn::GetAtt"]
            return f"<{logical}.{attr}>"
        if "Ref" in value:
            return f"<{value['Ref']}>"
        if "Fn::Join" in value:
            sep, parts = value["Fn::Join"]
            return sep.join(str(render(p)) for p in parts)
        return {k: render(v) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v) for v in value]
    return value
