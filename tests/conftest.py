"""Fixtures shared by every suite: the corpus, the local stack, faults at the task code's AWS boundary."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from imgflow_tools.local.cloud import LocalCloud
from tests.support import cloud as local
from tests.support import faults
from tests.support.paths import CORPUS


@pytest.fixture(scope="session")
def corpus() -> Path:
    """../shared/corpus, or a clean skip where it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def _local_cloud() -> Iterator[LocalCloud]:
    """The local stack, one per test process (moto's state is process-wide).

    At the end, every call a function or state machine made in this process must have been allowed by its
    deployed role (unless a test had taken that grant away): a refusal is a grant the template lacks.
    """
    with local.running_cloud() as running:
        yield running
        refused = local.refused_as_deployed(running)
    assert not refused, f"calls the deployed roles refused (a grant the template lacks): {refused}"


@pytest.fixture(scope="module")
def cloud(_local_cloud: LocalCloud) -> LocalCloud:
    """The local stack, deployed again if a file run before in this process reset moto (``mock_aws`` does).

    Files run whole on one worker (``--dist loadfile``), so checking once per module is enough.
    """
    return local.deployed(_local_cloud)


@pytest.fixture
def aws_faults() -> Iterator[faults.Inject]:
    """``inject("s3", "PutObject", hook)``: see tests/support/faults.py; hooks are removed after the test."""
    with faults.injecting() as inject:
        yield inject
