"""``imgflow iam``: per role of a local stack, the actions used (with resources) and the grants never used."""

from __future__ import annotations

import argparse
import json
import re
import sys

from imgflow_tools.commands import Subparsers
from imgflow_tools.ops import iam
from imgflow_tools.ops.errors import CommandError


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "iam", help="per role of a local stack: the actions used and the grants never used"
    )
    parser.add_argument("--endpoint", required=True, help="the local AWS endpoint (imgflow serve's)")
    parser.add_argument("--json", action="store_true", help="the report as JSON")
    return parser


def run(args: argparse.Namespace) -> int:
    if not re.match(r"^https?://[^/\s]+", args.endpoint):
        raise CommandError(
            f"--endpoint {args.endpoint} is no URL", "e.g. http://127.0.0.1:8001, as `imgflow serve` prints"
        )
    try:
        report = iam.usage(args.endpoint)
    except iam.UsageUnavailable as exc:
        print(f"imgflow iam: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2) if args.json else "\n".join(iam.policy_stream(report)))
    return 0
