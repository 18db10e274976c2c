"""``imgflow token``: a bearer token for a local user of ``imgflow serve`` (``imgflow_tools.tokens``)."""

from __future__ import annotations

import argparse

from imgflow_tools import tokens
from imgflow_tools.commands import Subparsers
from imgflow_tools.ops.errors import CommandError


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("token", help="print a bearer token for a local user of imgflow serve")
    parser.add_argument("name", help="user name (the owner of the images): [A-Za-z0-9_-]{1,128}")
    parser.add_argument(
        "--ttl", type=int, default=12 * 3600, help="seconds the token is valid (above 0; default 12 h)"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    if args.ttl <= 0:
        raise CommandError(f"--ttl must be above 0, not {args.ttl}", "the seconds the token is valid")
    try:
        print(tokens.issue(args.name, key=tokens.local_key(), ttl_s=args.ttl))
    except ValueError as exc:
        raise CommandError(str(exc), "see `imgflow token --help`") from exc
    return 0
