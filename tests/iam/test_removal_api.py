"""Removing any grant the API's role uses fails a scenario of the tour, with AccessDenied in what it left
behind (its log, a refused upload or presigned GET). Apart from test_removal.py: it has the most grants."""

from __future__ import annotations

from imgflow_tools.local.cloud import LocalCloud
from tests.support.iam_tour import Toured, removal_misses


def test_without_any_grant_it_uses_the_api_fails_a_scenario_with_access_denied(
    cloud: LocalCloud, toured: Toured
) -> None:
    unnoticed = removal_misses(cloud, toured, "imgflow-api")
    assert not unnoticed, "\n\n".join(unnoticed)
