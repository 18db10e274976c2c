"""The burst model (bench/burst_model.py) reads the throttle Retry from the ingest definition, and with it a
burst docs/operations.md sizes is absorbed, where the Retry it replaced was not."""

from __future__ import annotations

from bench.burst_model import RetryPolicy, Scenario, simulate


def test_the_model_uses_the_definitions_throttle_retry() -> None:
    for state in ("Claim", "Validate", "Resize", "ExtractMeta", "RecordProcessed"):
        assert RetryPolicy.from_asl(state) == RetryPolicy(2, 30, 2.0, 60, True), state


def test_a_burst_is_absorbed_by_the_throttle_retry_and_was_not_before() -> None:
    now = simulate(Scenario(images=3000))
    before = simulate(Scenario(images=3000, policy=RetryPolicy(1, 4, 2.0, 20, True)))
    assert now.failed == 0 and now.throttled > 0
    assert before.failed > 1000
    assert 7 < now.transitions_per_image < 20
    paced = simulate(Scenario(images=3000, admission=60))
    assert paced.failed == 0 and paced.transitions_per_image < 8
