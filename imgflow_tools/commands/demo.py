"""``imgflow demo``: send images through the real workflow on a local stack (``imgflow_tools.demo``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from imgflow_tools.commands import Subparsers


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("demo", help="send images through the real workflow on a local stack")
    parser.add_argument(
        "directory", nargs="?", type=Path, help="folder of files to send (default: bundled samples)"
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per input file instead of the table"
    )
    parser.add_argument("--out", type=Path, help="write renditions and records here")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the last record")
    return parser


def run(args: argparse.Namespace) -> int:
    """0 when every file reached a final record; 2 when the folder is not one."""
    from imgflow_tools.demo import run_demo  # starts moto: only when the command runs

    if args.directory is not None and not args.directory.is_dir():
        print(f"imgflow demo: {args.directory} is not a folder", file=sys.stderr)
        return 2
    return run_demo(args.directory, as_json=args.json, out=args.out, timeout=args.timeout)
