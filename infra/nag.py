"""cdk-nag wiring: the AwsSolutions pack and precise, reasoned acknowledgements."""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def enable(app: App) -> None:
    """Run the AwsSolutions pack on the whole app at synth (error-level findings fail synthesis)."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge one finding (``AwsSolutions-IAM5[Resource::...]`` for granular ones) on ``scope``."""
    if not finding.startswith("AwsSolutions-") or len(reason) < 30:
        raise ValueError(f"acknowledge {finding!r}: name the AwsSolutions finding and give a real reason")
    Validations.of(scope).acknowledge(Acknowledgment(id=finding, reason=reason))
