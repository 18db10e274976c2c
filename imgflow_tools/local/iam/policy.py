"""Identity-policy evaluation as IAM does it for one request: an explicit Deny wins, then any Allow.

``Action`` / ``NotAction`` and ``Resource`` / ``NotResource`` are matched with IAM's wildcards (``*``, ``?``;
actions case-insensitively). Conditions are not evaluated, and never in the caller's favour: an ``Allow``
with a ``Condition`` allows nothing, a ``Deny`` with one always applies. What passes locally is then allowed
in AWS whatever the condition says (the template's role policies carry none today; trust policies'
conditions hold for the local stack's own ARNs).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any


@functools.lru_cache(maxsize=4096)
def _pattern(glob: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _listed(value: Any) -> Sequence[str]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _matches(patterns: Iterable[str], value: str, *, ignore_case: bool = False) -> bool:
    return any(_pattern(p, ignore_case).match(value) for p in patterns)


def statement_applies(statement: dict[str, Any], action: str, resource: str) -> bool:
    if "Action" in statement:
        if not _matches(_listed(statement["Action"]), action, ignore_case=True):
            return False
    elif "NotAction" in statement and _matches(_listed(statement["NotAction"]), action, ignore_case=True):
        return False
    if "Resource" in statement:
        return _matches(_listed(statement["Resource"]), resource)
    if "NotResource" in statement:
        return not _matches(_listed(statement["NotResource"]), resource)
    return True


def statements(policies: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in policies:
        items = policy.get("Statement", [])
        found.extend([items] if isinstance(items, dict) else items)
    return found


def decide(policies: Sequence[dict[str, Any]], action: str, resource: str) -> bool:
    """Whether the policies allow ``action`` on ``resource`` (Deny first, default deny)."""
    allowed = False
    for statement in statements(policies):
        if statement_applies(statement, action, resource):
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or (statement.get("Effect") == "Allow" and not statement.get("Condition"))
    return allowed


def grants(policies: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """Every (action, resource) pair the policies Allow, as written (wildcards kept)."""
    pairs: list[tuple[str, str]] = []
    for statement in statements(policies):
        if statement.get("Effect") != "Allow":
            continue
        for action in _listed(statement.get("Action")):
            for resource in _listed(statement.get("Resource")) or ("*",):
                pairs.append((action, resource))
    return pairs


def covers(grant: tuple[str, str], used: tuple[str, str]) -> bool:
    """Whether the granted (action, resource) pattern allows the used (action, resource)."""
    return bool(_pattern(grant[0], True).match(used[0]) and _pattern(grant[1], False).match(used[1]))
