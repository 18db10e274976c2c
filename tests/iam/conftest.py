"""Fixtures of the IAM tests: the tour of the stack, played once per module."""

from __future__ import annotations

import pytest

from imgflow_tools.local.cloud import LocalCloud
from tests.support.iam_tour import Toured


@pytest.fixture(scope="module")
def toured(cloud: LocalCloud) -> Toured:
    """Every scenario of the tour played once with the roles as deployed."""
    return Toured.run(cloud)
