"""``imgflow demo``: send images through the real workflow on a local stack (``imgflow_tools.demo``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from imgflow_tools.commands import Subparsers
from imgflow_tools.ops.errors import CommandError


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("demo", help="send images through the real workflow on a local stack")
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="FILE|FOLDER",
        help="files, and folders of files (recursively), to send (default: the generated samples)",
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per input file instead of the table"
    )
    parser.add_argument("--out", type=Path, help="write renditions and records here")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the last record")
    return parser


def run(args: argparse.Namespace) -> int:
    """0 when every file reached a final record, 1 when one did not; 2 when a path is neither."""
    for path in args.paths:
        if not (path.is_file() or path.is_dir()):
            raise CommandError(f"{path} is no file or folder", "name files or folders of images")
    if args.timeout <= 0:
        raise CommandError("--timeout must be above 0", "see `imgflow demo --help`")
    from imgflow_tools.demo import run_demo  # starts moto: only when the command runs

    return run_demo(args.paths, as_json=args.json, out=args.out, timeout=args.timeout)
