"""Reasons, in the template, for grants imgflow's own code never calls.

A role's grants are checked against what the suite's calls use (``tests/iam``): a grant no call uses fails
there, unless the role names it here with its reason. The reasons travel in the role's CloudFormation
``Metadata`` (``imgflow:uncalled``: a list of ``{"Action", "Resource", "Reason"}``), so the local stack reads
them from the same template that deploys and ``imgflow iam`` prints them beside the grant.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import CfnResource
from aws_cdk import aws_iam as iam

METADATA_KEY = "imgflow:uncalled"

#: What the Lambda service does with a function's role, not the function's code.
FUNCTION_PLATFORM = {
    "logs:*": "The Lambda service writes the function's log stream to its log group with the role; no "
    "imgflow code calls CloudWatch Logs.",
    "xray:*": "Active tracing: the Lambda service and the Powertools tracer's daemon send the segments; no "
    "imgflow code calls X-Ray.",
}
#: What the Step Functions service does with a state machine's role, not the workflow's states.
STATE_MACHINE_PLATFORM = {
    "logs:*": "Step Functions delivers the execution log (logging level ALL) to the log group with these "
    "vended-log calls; no state of the workflow calls CloudWatch Logs.",
    "xray:*": "Step Functions sends the machine's X-Ray trace (tracing enabled); no state calls X-Ray.",
}


def uncalled(role: iam.IRole | None, reasons: Mapping[str, str], *, resource: str = "*") -> None:
    """Record on ``role`` why the grants matching each action pattern (on ``resource``, a pattern or an
    ARN token) are never called by imgflow's code."""
    cfn = role.node.default_child if role is not None else None
    if not isinstance(cfn, CfnResource):
        raise TypeError("uncalled: only a role this stack defines carries reasons")
    entries = []
    for pattern, reason in reasons.items():
        if ":" not in pattern or len(reason) < 30:
            raise ValueError(
                f"uncalled {pattern!r}: name service:Action (wildcards allowed) and a real reason"
            )
        entries.append({"Action": pattern, "Resource": resource, "Reason": reason})
    cfn.add_metadata(METADATA_KEY, [*(cfn.get_metadata(METADATA_KEY) or []), *entries])
