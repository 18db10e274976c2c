"""One synthesized app per session (per xdist worker), bundling skipped, cdk-nag on (see support/synth.py)."""

from __future__ import annotations

import pytest

from tests.support.synth import EXISTING_BUCKET, Synth, synthesize


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The default stage: every bucket created by the stack."""
    return synthesize(tmp_path_factory.mktemp("cdk-default"))


@pytest.fixture(scope="session")
def synth_existing(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """``-c existingBucketName=...``: uploads go to a bucket the stack does not own."""
    return synthesize(
        tmp_path_factory.mktemp("cdk-existing"), existingBucketName=EXISTING_BUCKET, stage="prod"
    )
