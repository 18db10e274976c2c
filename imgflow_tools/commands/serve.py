"""``imgflow serve``: the API, the web page and the local AWS endpoint until interrupted
(``imgflow_tools.local.server``)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from imgflow_tools.commands import Subparsers
from imgflow_tools.local.schedule import DEFAULT_PERIOD_S as DEFAULT_REPAIR_S
from imgflow_tools.ops.errors import CommandError


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("serve", help="run the API and the local AWS endpoint until interrupted")
    parser.add_argument("--port", type=int, default=8000, help="API port (0: any free port)")
    parser.add_argument(
        "--s3-port", type=int, default=None, help="local AWS endpoint port (default: API port + 1, or any)"
    )
    parser.add_argument("--user", default="local", help="user of the token printed at start")
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a web origin (scheme://host[:port]) allowed to call both listeners besides the served page "
        "(repeatable; also IMGFLOW_ALLOWED_ORIGINS, separated by commas)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line with endpoints and token")
    parser.add_argument(
        "--repair-every",
        type=float,
        default=float(os.environ.get("IMGFLOW_REPAIR_EVERY_S", DEFAULT_REPAIR_S)),
        metavar="S",
        help="reprocess stuck and failed images every S seconds, as the AWS schedule does (0: off; "
        f"default {DEFAULT_REPAIR_S}, or IMGFLOW_REPAIR_EVERY_S)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--state",
        type=Path,
        metavar="DIR",
        help="keep the stack's state in DIR (default: <state dir>/stacks/default, beside the token key)",
    )
    where.add_argument(
        "--ephemeral", action="store_true", help="a throwaway stack: nothing is read or written on disk"
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="move the state folder aside (renamed <dir>.reset-<time>, never deleted) and start empty",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    for option, port in (("--port", args.port), ("--s3-port", args.s3_port)):
        if port is not None and not 0 <= port <= 65535:
            raise CommandError(f"{option} {port} is no port", "0 (any free port) to 65535")
    if args.repair_every < 0:
        raise CommandError("--repair-every must be 0 (off) or more", "see `imgflow serve --help`")
    from imgflow_tools.local.origin import configured_origins
    from imgflow_tools.local.server import serve  # starts moto: only when the command runs
    from imgflow_tools.local.state import StateRefused, StateStore, default_dir, move_aside

    try:
        configured_origins(args.allow_origin)
    except ValueError as exc:
        raise CommandError(
            f"--allow-origin / IMGFLOW_ALLOWED_ORIGINS: {exc}", "an origin is scheme://host[:port]"
        ) from exc

    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop cleanly on kill / docker stop
    s3_port = args.s3_port if args.s3_port is not None else (args.port + 1 if args.port else 0)
    state = None
    if not args.ephemeral:
        directory = (args.state or default_dir()).expanduser().absolute()
        try:
            if args.reset and (aside := move_aside(directory)):
                print(f"imgflow serve: the old state was moved to {aside}", file=sys.stderr)
            state = StateStore.open(directory)
        except StateRefused as refused:
            print(f"imgflow serve: {refused}", file=sys.stderr)
            return 2
    elif args.reset:
        print("imgflow serve: --reset applies to a state folder, not to --ephemeral", file=sys.stderr)
        return 2
    return serve(
        port=args.port,
        s3_port=s3_port,
        user=args.user,
        as_json=args.json,
        repair_every_s=args.repair_every,
        allow_origins=tuple(args.allow_origin),
        state=state,
    )
