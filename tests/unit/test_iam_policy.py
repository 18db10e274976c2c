"""The local IAM's policy evaluation (imgflow_tools/local/iam/policy.py): Deny first, wildcards, and
conditions never read in the caller's favour."""

from __future__ import annotations

from imgflow_tools.local.iam import policy

BUCKET = "arn:aws:s3:::b"


def _doc(*statements: dict[str, object]) -> tuple[dict[str, object], ...]:
    return ({"Version": "2012-10-17", "Statement": list(statements)},)


def test_allow_with_wildcards_and_default_deny() -> None:
    docs = _doc({"Effect": "Allow", "Action": "s3:Get*", "Resource": f"{BUCKET}/uploads/*"})
    assert policy.decide(docs, "s3:GetObject", f"{BUCKET}/uploads/a/b")
    assert policy.decide(docs, "S3:getobject", f"{BUCKET}/uploads/a")  # actions are case-insensitive
    assert not policy.decide(docs, "s3:GetObject", f"{BUCKET}/other/a")
    assert not policy.decide(docs, "s3:PutObject", f"{BUCKET}/uploads/a")


def test_an_explicit_deny_wins() -> None:
    docs = _doc(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": f"{BUCKET}/*"},
    )
    assert policy.decide(docs, "s3:PutObject", f"{BUCKET}/k")
    assert not policy.decide(docs, "s3:DeleteObject", f"{BUCKET}/k")


def test_not_action_and_not_resource() -> None:
    docs = _doc({"Effect": "Allow", "NotAction": "s3:DeleteObject", "NotResource": f"{BUCKET}/private/*"})
    assert policy.decide(docs, "s3:GetObject", f"{BUCKET}/public/k")
    assert not policy.decide(docs, "s3:DeleteObject", f"{BUCKET}/public/k")
    assert not policy.decide(docs, "s3:GetObject", f"{BUCKET}/private/k")


def test_a_condition_never_decides_in_the_callers_favour() -> None:
    condition = {"Bool": {"aws:SecureTransport": "true"}}
    allow = _doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": condition})
    assert not policy.decide(allow, "s3:GetObject", f"{BUCKET}/k")  # AWS might refuse it: so does the stack
    deny = _doc(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*", "Condition": condition},
    )
    assert not policy.decide(deny, "s3:GetObject", f"{BUCKET}/k")


def test_a_refusal_of_a_role_as_deployed_is_told_apart_from_one_a_test_caused() -> None:
    from imgflow_tools.local.iam.enforcer import Usage

    usage = Usage()
    need = ("s3:GetObject", f"{BUCKET}/k")
    usage.record("imgflow-resize", need, False, restricted=True)  # a removal test took the grant away
    usage.record("imgflow-resize", need, True)
    assert usage.refused_as_deployed() == {}
    usage.record("imgflow-validate", need, False)  # its deployed policies refused it
    assert usage.refused_as_deployed() == {"imgflow-validate": [need]}
