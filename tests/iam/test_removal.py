"""Removing any grant a role uses fails a scenario of the tour, with AccessDenied in what it left behind:
the functions' and state machines' roles (the API's: test_removal_api.py).

The grants come from the template and what they are used for from the tour's recorded calls
(tests/support/iam_tour.py): no list of actions is written here.
"""

from __future__ import annotations

import pytest

from imgflow_tools.local.cloud import LocalCloud
from imgflow_tools.local.iam import policy
from tests.support.iam_tour import Toured, every_role, map_item_actions, removal_misses, without


def test_without_takes_out_exactly_one_grant() -> None:
    document = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": ["arn:a/*", "arn:b/*"],
            }
        ]
    }
    kept = without((document,), ("s3:GetObject", "arn:a/*"))
    assert sorted(policy.grants(kept)) == [
        ("s3:GetObject", "arn:b/*"),
        ("s3:PutObject", "arn:a/*"),
        ("s3:PutObject", "arn:b/*"),
    ]


def test_the_map_items_calls_are_read_from_the_reprocess_definition() -> None:
    assert map_item_actions() == {"states:StartExecution", "states:DescribeExecution"}


@pytest.mark.parametrize("role", [r for r in every_role() if r != "imgflow-api"])
def test_without_any_grant_it_uses_the_role_fails_a_scenario_with_access_denied(
    cloud: LocalCloud, toured: Toured, role: str
) -> None:
    unnoticed = removal_misses(cloud, toured, role)
    assert not unnoticed, "\n\n".join(unnoticed)
