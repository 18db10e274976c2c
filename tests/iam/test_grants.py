"""Every grant of every role is called by the tour of the stack (tests/support/iam_tour.py), or the template
says why imgflow's code never calls it (``infra/grants.py``); and the tour's calls are all allowed."""

from __future__ import annotations

from imgflow_tools.local.cloud import LocalCloud
from imgflow_tools.local.iam import policy
from imgflow_tools.local.iam.roles import UNCALLED_KEY
from infra.grants import METADATA_KEY
from tests.support.iam_tour import SCENARIOS, Toured, every_role


def test_the_tour_runs_every_scenario_with_no_call_refused(toured: Toured) -> None:
    assert toured.failures == {}, toured.failures
    assert toured.denied == {}, toured.denied


def test_every_grant_is_called_or_has_its_reason_in_the_template(cloud: LocalCloud, toured: Toured) -> None:
    assert cloud.iam is not None
    unexplained: list[str] = []
    wrong_reasons: list[str] = []
    for name, role in sorted(cloud.iam.stack.roles.items()):
        used = toured.used_by(name)
        for grant in policy.grants(role.policies):
            called = any(policy.covers(grant, call) for call in used)
            reasons = [pattern for pattern in role.uncalled if policy.covers(pattern, grant)]
            if not called and not reasons:
                unexplained.append(f"{name}: {grant[0]} on {grant[1]}")
        for pattern in role.uncalled:
            wrong_reasons += [
                f"{name}: {action} on {resource} is called, yet {pattern} says it never is"
                for action, resource in used
                if policy.covers(pattern, (action, resource))
            ]
    assert not unexplained, "grants no call of the tour uses and no reason explains:\n" + "\n".join(
        unexplained
    )
    assert not wrong_reasons, "\n".join(wrong_reasons)


def test_every_role_is_toured_and_the_reasons_key_is_the_templates(cloud: LocalCloud, toured: Toured) -> None:
    assert cloud.iam is not None
    assert set(every_role()) == set(cloud.iam.stack.roles)
    assert {name for name in cloud.iam.stack.roles if toured.used_by(name)} == set(cloud.iam.stack.roles)
    assert METADATA_KEY == UNCALLED_KEY
    assert len(SCENARIOS) == len({s.__name__ for s in SCENARIOS})
