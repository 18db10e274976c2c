"""``imgflow reprocess``: one run of the reprocess workflow, with progress and its summary
(``imgflow_tools.ops.reprocess``)."""

from __future__ import annotations

import argparse
import contextlib
import json
import re
from typing import Any

from imgflow_tools.commands import Subparsers
from imgflow_tools.ops import reprocess
from imgflow_tools.ops import stack as stacks
from imgflow_tools.ops.errors import CommandError
from tasks.reprocess import selection

#: The request's fields as the command's options (for the Select step's messages).
_OPTIONS = {"older_than_s": "--older-than", "max_images": "--max-images", "run_id": "--run-id"} | {
    name: f"--{name}" for name in ("mode", "owner", "since", "until")
}


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


def checked(request: dict[str, Any]) -> dict[str, Any]:
    """``request`` if the reprocess workflow's Select step would take it (the same function), else a
    ``CommandError`` naming the option: a bad request never starts a run."""
    try:
        selection.parse_request(request)
    except selection.InvalidReprocessRequest as exc:
        message = re.sub(r"\b(" + "|".join(_OPTIONS) + r")\b", lambda m: _OPTIONS[m.group(1)], str(exc))
        raise CommandError(message, "see `imgflow reprocess --help`") from exc
    return request


def run(args: argparse.Namespace) -> int:
    """``imgflow reprocess``: 0 if the run succeeded and no image ended FAILED, 1 if one did, 2 on misuse."""
    request = checked(request_from(args))
    stack = stacks.from_arguments(args)
    try:
        with contextlib.closing(reprocess.ProgressBar()) as bar:  # the progress line ends before a message
            summary = reprocess.run(stack, request, progress=bar)
    except reprocess.ReprocessFailed as exc:
        invalid = "InvalidReprocessRequest" in str(exc)
        raise CommandError(
            str(exc), "see `imgflow runs --status FAILED`", status=2 if invalid else 1
        ) from exc
    print(json.dumps(summary) if args.json else reprocess.format_summary(summary))
    return 1 if summary.get("failed") else 0
