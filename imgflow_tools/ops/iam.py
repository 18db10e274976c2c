"""The local stack's IAM usage: per role, the calls it made, those it was denied and the grants never used.

Served by the local endpoint's door at ``/_imgflow/iam`` (``imgflow_tools.local.iam.enforcer``), signed with
the operator's key (``imgflow_tools.aws_keys``). A deployed stack has no such route: CloudTrail and IAM Access
Analyzer's policy generation answer the same question there.
"""

from __future__ import annotations

from typing import Any

from imgflow_tools import aws_keys
from imgflow_tools.ops.errors import SERVE_HINT, CommandError

USAGE_PATH = "/_imgflow/iam"


class UsageUnavailable(RuntimeError):
    """The endpoint did not answer with the usage (not a local stack, or another operator's)."""


def usage(endpoint: str) -> dict[str, Any]:
    """``{"roles": {name: {"role", "used", "denied", "unused", "called_despite_reason"}}}`` of the stack.

    An unused grant the template gives a reason for (``infra/grants.py``) carries it as ``"reason"``.
    """
    import requests

    url = endpoint.rstrip("/") + USAGE_PATH
    try:
        response = requests.get(url, headers=aws_keys.signed_headers("GET", url), timeout=30)
    except requests.ConnectionError as exc:
        raise CommandError(f"no imgflow stack answers at {endpoint}", SERVE_HINT) from exc
    except requests.RequestException as exc:
        raise CommandError(
            f"{url}: {type(exc).__name__}", "pass the endpoint `imgflow serve` prints"
        ) from exc
    if response.status_code in (400, 403):  # the endpoint does not know this key: another stack's
        raise CommandError(
            f"{endpoint} refused this stack's operator key (HTTP {response.status_code})",
            "run with the IMGFLOW_STATE_DIR of the `imgflow serve` that prints this endpoint",
        )
    if response.status_code != 200:
        raise UsageUnavailable(f"{url}: HTTP {response.status_code} {response.text[:300]}")
    return dict(response.json())


def policy_stream(report: dict[str, Any]) -> list[str]:
    """The report as lines: per role its ARN, then ``used``/``denied``/``unused`` action and resource
    (``uncalled``: unused, with the template's reason on the next line)."""
    lines: list[str] = []
    for name, role in sorted(report.get("roles", {}).items()):
        lines.append(f"{name}  {role['role']}")
        for kind in ("used", "denied", "unused"):
            for entry in role.get(kind, []):
                count = f"  x{entry['count']}" if "count" in entry else ""
                label = "uncalled" if kind == "unused" and "reason" in entry else kind
                lines.append(f"  {label:<8} {entry['action']:<28} {entry['resource']}{count}")
                if "reason" in entry:
                    lines.append(f"           because: {entry['reason']}")
    return lines
