"""``imgflow runs``: recent executions of imgflow's state machines, and any one of them state by state
(``imgflow_tools.ops.runs``)."""

from __future__ import annotations

import argparse
import json
import sys

from botocore.exceptions import ClientError

from imgflow_tools.commands import Subparsers
from imgflow_tools.ops import runs
from imgflow_tools.ops import stack as stacks
from imgflow_tools.ops.errors import CommandError


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    """``imgflow runs`` and ``imgflow runs show``."""
    parser = subparsers.add_parser(
        "runs",
        help="recent workflow executions; `runs show ARN|IMAGE_ID` for one, state by state",
        description="Recent executions of every imgflow state machine (newest first), or with `show` one "
        "execution state by state.",
    )
    parser.add_argument(
        "--status", choices=runs.STATUSES, type=str.upper, help="only executions in this status"
    )
    parser.add_argument("--image", metavar="ID", help="only the executions of this image")
    parser.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    parser.add_argument("--json", action="store_true", help="one JSON object per execution")
    stacks.add_arguments(parser)
    sub = parser.add_subparsers(dest="runs_command")
    show = sub.add_parser(
        "show",
        help="one execution, state by state",
        description="The state-by-state timeline of an execution (by ARN or name), or of an image's latest "
        "execution (by image id) with the image's record.",
    )
    show.add_argument(
        "target", metavar="EXECUTION_ARN|IMAGE_ID", help="an execution ARN or name, or an image id"
    )
    show.add_argument("--json", action="store_true", help="the timeline as one JSON object")
    stacks.add_arguments(show)
    # The stack options work before `show` too: the subcommand's defaults must not overwrite them.
    for action in show._actions:
        if action.dest in ("endpoint", "stack", "region", "json"):
            action.default = argparse.SUPPRESS
    return parser


def run(args: argparse.Namespace) -> int:
    """0; 1 when nothing matches (``runs.NotFound``); misuse and an unreachable stack: ``cli.main``."""
    if args.runs_command != "show" and args.limit < 1:
        raise CommandError("--limit must be at least 1", "see `imgflow runs --help`")
    stack = stacks.from_arguments(args)
    if args.runs_command == "show":
        return _show(stack, args)
    return _list(stack, args)


def _list(stack: stacks.Stack, args: argparse.Namespace) -> int:
    sfn = stack.client("stepfunctions")
    if args.image:
        arns = runs.image_runs(stack, args.image)[1]
    else:
        arns = runs.recent(stack, status=args.status, limit=args.limit)
    found = []
    for arn in arns:
        run_ = runs.summary(runs.timeline(sfn, arn))
        if args.status and run_["status"] != args.status:
            continue
        found.append(run_)
        if len(found) >= args.limit:
            break
    if args.json:
        for r in found:
            print(json.dumps(r))
    elif found:
        print(runs.format_list(found))
    else:
        print("no executions" + (f" in status {args.status}" if args.status else ""), file=sys.stderr)
    return 0


def _show(stack: stacks.Stack, args: argparse.Namespace) -> int:
    arn, record, others = runs.resolve(stack, args.target)
    sfn = stack.client("stepfunctions")
    try:
        run_ = runs.timeline(sfn, arn)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("ExecutionDoesNotExist", "InvalidArn"):
            raise runs.NotFound(f"no execution {arn}") from exc
        raise
    if record is None and run_.get("image_id"):
        record = runs.image_record(stack, run_["image_id"])
    if args.json:
        print(json.dumps({**run_, "record": runs.visible(record), "earlier_runs": others}))
    else:
        print(runs.format_timeline(run_, runs.visible(record), others))
    return 0
