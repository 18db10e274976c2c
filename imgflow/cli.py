"""The ``imgflow`` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from imgflow.local.demo import run_demo

        if args.directory is not None and not args.directory.is_dir():
            print(f"imgflow demo: {args.directory} is not a folder", file=sys.stderr)
            return 2
        return run_demo(args.directory, as_json=args.json, out=args.out, timeout=args.timeout)
    return 2


if __name__ == "__main__":
    sys.exit(main())
