"""Shared fixtures: the corpus beside the repo, generated images."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgflow_tools.local import moto_adapter
from imgflow_tools.local.cloud import LocalCloud

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("IMGFLOW_CORPUS", REPO.parent / "shared" / "corpus"))


@pytest.fixture(scope="session")
def corpus() -> Path:
    """../shared/corpus, or a clean skip where it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def _local_cloud() -> Iterator[LocalCloud]:
    """The local stack, one per test process (moto's state is process-wide)."""
    # Retry waits of 1-20 s become milliseconds; the ASL's Retry policies are otherwise unchanged. A throttled
    # task (image tasks reserved to 20, as deployed) waits a quarter of its ASL wait: up to 15 s, ~3 min of
    # patience in all, still far above any backlog a test makes (moto_adapter 8.).
    with (
        moto_adapter.time_scale(0.001),
        moto_adapter.time_scale(0.25, variable="IMGFLOW_LOCAL_THROTTLE_TIME_SCALE"),
        LocalCloud() as running,
    ):
        yield running


@pytest.fixture(scope="module")
def cloud(_local_cloud: LocalCloud) -> LocalCloud:
    """The local stack, deployed again if a file run before in this process reset moto (``mock_aws`` does).

    Files run whole on one worker (``--dist loadfile``), so checking once per module is enough.
    """
    try:
        _local_cloud.client("s3").head_bucket(Bucket=_local_cloud.settings.uploads_bucket)
    except Exception:  # moto's backends were reset under the running server: deploy the stack again
        _local_cloud._configure_moto()
        _local_cloud.deploy()
    return _local_cloud
