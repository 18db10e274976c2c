"""EventBridge rules in the state: the default bus's rules (pattern, schedule, state, targets) as one JSON
value. The rules ``LocalCloud.deploy`` creates come from the code; a saved rule it did not create is put
back, and every saved rule keeps its state (ENABLED/DISABLED)."""

from __future__ import annotations

import json
from typing import Any


def _bus(account: str, region: str) -> Any:
    from moto.events.models import events_backends

    return events_backends[account][region].event_buses["default"]


def capture(account: str, region: str) -> str:
    rules = [
        {
            "name": rule.name,
            "description": rule.description,
            "pattern": getattr(rule.event_pattern, "_raw_pattern", None),
            "schedule": rule.scheduled_expression,
            "role_arn": rule.role_arn,
            "state": rule.state,
            "targets": rule.targets,
        }
        for rule in list(_bus(account, region).rules.values())
    ]
    return json.dumps(rules, sort_keys=True, separators=(",", ":"))


def restore(account: str, region: str, saved: str) -> int:
    from moto.events.models import events_backends

    events = events_backends[account][region]
    bus = _bus(account, region)
    added = 0
    for rule in json.loads(saved):
        if rule["name"] not in bus.rules:
            events.put_rule(
                rule["name"],
                description=rule["description"],
                event_pattern=rule["pattern"],
                role_arn=rule["role_arn"],
                scheduled_expression=rule["schedule"],
                state=rule["state"],
            )
            if rule["targets"]:
                events.put_targets(rule["name"], None, rule["targets"])
            added += 1
        bus.rules[rule["name"]].state = rule["state"]
    return added
