"""CDK app entry point (``npx cdk synth|deploy`` runs ``python -m infra.app`` through cdk.json)."""

from __future__ import annotations

import os
import sys
from typing import Any

# jsii prints Node 20's end-of-life banner as Python bytes reprs (b'!!  Node 20 is ...'), before every
# synth; Node 20 is a supported runtime here (README), so it is silenced as `python -m infra.synth` does.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App, Environment

from infra import nag
from infra.config import StageConfig
from infra.stack import ImgflowStack

#: Feature flags, set here rather than in cdk.json so ``python -m infra.synth`` and the CLI agree.
FEATURE_FLAGS: dict[str, Any] = {
    # Server access logs are delivered through a bucket policy, not the legacy log-delivery ACL.
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
}


def stack_name(config: StageConfig) -> str:
    return f"imgflow-{config.stage}"


def build_app(
    context: dict[str, Any] | None = None,
    outdir: str | None = None,
    *,
    with_nag: bool = True,
    validate_cfn: bool = False,
) -> tuple[App, ImgflowStack]:
    """The app with its one stack; cdk-nag's AwsSolutions pack is on unless ``with_nag`` is False."""
    app = App(
        context={**FEATURE_FLAGS, **(context or {})},
        outdir=outdir,
        builtin_cloud_formation_validation=validate_cfn,
    )
    config = StageConfig.from_node(app.node)
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    stack = ImgflowStack(
        app,
        stack_name(config),
        config=config,
        description=f"imgflow image-ingestion workflow ({config.stage})",
        env=Environment(account=account, region=region) if account and region else None,
    )
    if with_nag:
        nag.enable(app)
    return app, stack


def main() -> None:
    try:
        app, _ = build_app()
    except ValueError as exc:  # a mistyped or invalid context value (-c key=value): one line, no traceback
        sys.exit(f"imgflow CDK app: {exc}")
    app.synth()


if __name__ == "__main__":
    main()
