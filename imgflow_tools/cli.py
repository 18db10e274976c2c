"""The ``imgflow`` command."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from imgflow_tools.local.schedule import DEFAULT_PERIOD_S as DEFAULT_REPAIR_S


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imgflow", description="imgflow: image ingestion on Step Functions")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="send images through the real workflow on a local stack")
    demo.add_argument(
        "directory", nargs="?", type=Path, help="folder of files to send (default: bundled samples)"
    )
    demo.add_argument(
        "--json", action="store_true", help="one JSON object per input file instead of the table"
    )
    demo.add_argument("--out", type=Path, help="write renditions and records here")
    demo.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the last record")
    serve = commands.add_parser("serve", help="run the API and the local AWS endpoint until interrupted")
    serve.add_argument("--port", type=int, default=8000, help="API port (0: any free port)")
    serve.add_argument(
        "--s3-port", type=int, default=None, help="local AWS endpoint port (default: API port + 1, or any)"
    )
    serve.add_argument("--user", default="local", help="user of the token printed at start")
    serve.add_argument("--json", action="store_true", help="print one JSON line with endpoints and token")
    serve.add_argument(
        "--repair-every",
        type=float,
        default=float(os.environ.get("IMGFLOW_REPAIR_EVERY_S", DEFAULT_REPAIR_S)),
        metavar="S",
        help="reprocess stuck and failed images every S seconds, as the AWS schedule does (0: off; "
        f"default {DEFAULT_REPAIR_S}, or IMGFLOW_REPAIR_EVERY_S)",
    )
    token = commands.add_parser("token", help="print a bearer token for a local user of imgflow serve")
    token.add_argument("name", help="user name (the owner of the images): [A-Za-z0-9_-]{1,128}")
    token.add_argument("--ttl", type=int, default=12 * 3600, help="seconds the token is valid")
    from imgflow_tools.ops import reprocess, runs, soak

    runs.add_parser(commands)
    soak.add_parser(commands)
    reprocess.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from imgflow_tools.local.demo import run_demo

        if args.directory is not None and not args.directory.is_dir():
            print(f"imgflow demo: {args.directory} is not a folder", file=sys.stderr)
            return 2
        return run_demo(args.directory, as_json=args.json, out=args.out, timeout=args.timeout)
    if args.command == "serve":
        import signal

        from imgflow_tools.local.server import serve

        signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop cleanly on kill / docker stop
        s3_port = args.s3_port if args.s3_port is not None else (args.port + 1 if args.port else 0)
        return serve(
            port=args.port,
            s3_port=s3_port,
            user=args.user,
            as_json=args.json,
            repair_every_s=args.repair_every,
        )
    if args.command == "runs":
        from imgflow_tools.ops import runs

        return runs.run(args)
    if args.command == "token":
        from imgflow_tools import tokens

        try:
            print(tokens.issue(args.name, key=tokens.local_key(), ttl_s=args.ttl))
        except ValueError as exc:
            print(f"imgflow token: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "soak":
        from imgflow_tools.ops import soak

        return soak.run(args)
    if args.command == "reprocess":
        from imgflow_tools.ops import reprocess

        return reprocess.main(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
