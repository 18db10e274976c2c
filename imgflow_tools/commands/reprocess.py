"""``imgflow reprocess``: one run of the reprocess workflow, with progress and its summary
(``imgflow_tools.ops.reprocess``)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from imgflow_tools.commands import Subparsers
from imgflow_tools.ops import reprocess
from imgflow_tools.ops import stack as stacks


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "reprocess",
        help="re-run the ingest workflow over stored images (failed, stuck, stale or all)",
        description="Start the reprocess workflow, show its progress, print the summary.",
    )
    parser.add_argument("--mode", required=True, choices=reprocess.MODES, help="which images (see README)")
    parser.add_argument("--owner", help="only this owner's images")
    parser.add_argument("--since", help="only images created at or after this ISO date")
    parser.add_argument("--until", help="only images created at or before this ISO date")
    parser.add_argument(
        "--older-than", type=int, metavar="S", help="stuck: seconds a record must have waited"
    )
    parser.add_argument("--max-images", type=int, metavar="N", help="select at most N images")
    parser.add_argument("--run-id", help="name of the run; the same id again resumes it")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    stacks.add_arguments(parser)
    return parser


def request_from(args: argparse.Namespace) -> dict[str, Any]:
    request: dict[str, Any] = {"mode": args.mode}
    for key, value in (
        ("owner", args.owner),
        ("since", args.since),
        ("until", args.until),
        ("older_than_s", args.older_than),
        ("max_images", args.max_images),
        ("run_id", args.run_id),
    ):
        if value is not None:
            request[key] = value
    return request


def run(args: argparse.Namespace) -> int:
    """``imgflow reprocess``: 0 if the run succeeded and no image ended FAILED, 1 if one did, 2 on misuse."""
    try:
        stack = stacks.from_arguments(args)
    except stacks.StackNotFound as exc:
        print(f"imgflow reprocess: {exc}", file=sys.stderr)
        return 2
    bar = reprocess.ProgressBar()
    try:
        summary = reprocess.run(stack, request_from(args), progress=bar)
    except reprocess.ReprocessFailed as exc:
        bar.close()
        print(f"imgflow reprocess: {exc}", file=sys.stderr)
        return 2 if "InvalidReprocessRequest" in str(exc) else 1
    bar.close()
    print(json.dumps(summary) if args.json else reprocess.format_summary(summary))
    return 1 if summary.get("failed") else 0
