"""``imgflow soak``: many uploads with AWS failing on purpose, then the repair; or with ``--burst``, all at
once through a small concurrency limit (``imgflow_tools.soak``)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from imgflow_tools.commands import Subparsers
from imgflow_tools.ops.errors import CommandError
from imgflow_tools.soak import soak

T = TypeVar("T")


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "soak",
        help="many uploads with AWS failing on purpose, then the repair; counts what went wrong",
        description=(
            "Upload N files (valid and hostile) through the presigned POST path with faults injected, wait, "
            "turn faults off, run the repair (stuck, then failed), and read the outcome from the records. "
            "The last line: soak uploads= records= lost= duplicated= stuck= wrong= retries= wall_s=."
        ),
    )
    parser.add_argument("--images", type=int, default=100, metavar="N", help="uploads to make (default 100)")
    parser.add_argument(
        "--faults",
        default=None,
        metavar="SPEC",
        help=f"fault setting, kinds s3 dynamodb lambda drop dup delay (default {soak.DEFAULT_FAULTS}; 'off')",
    )
    parser.add_argument(
        "--burst",
        action="store_true",
        help="all N uploads at once, faults off, validate/resize/extract_meta limited to --concurrency "
        "(imgflow_tools/soak/burst.py); adds throttled= and drain_s= to the line",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        metavar="C",
        help="with --burst: reserved concurrency of the image tasks (default 4; as deployed: 20)",
    )
    parser.add_argument("--seed", type=int, help="seed of the faults (default: from SPEC, or 1)")
    parser.add_argument(
        "--endpoint",
        metavar="URL",
        help="soak the local stack of a running imgflow serve at this AWS endpoint (default: start one here)",
    )
    parser.add_argument("--corpus", type=Path, help="also upload the files of this folder (e.g. a corpus)")
    parser.add_argument(
        "--max-in-flight",
        type=int,
        default=16,
        metavar="K",
        help="upload while fewer than K executions run (default 16; 0: no cap)",
    )
    parser.add_argument(
        "--timeout", type=float, default=1800.0, metavar="S", help="seconds to wait per phase"
    )
    return parser


def check(args: argparse.Namespace) -> None:
    """The options, before anything starts (``CommandError`` names the wrong one)."""
    hint = "see `imgflow soak --help`"
    if args.images < 1:
        raise CommandError("--images must be at least 1", hint)
    if args.concurrency < 1:
        raise CommandError("--concurrency must be at least 1", hint)
    if args.max_in_flight < 0:
        raise CommandError("--max-in-flight must be 0 (no cap) or more", hint)
    if args.timeout <= 0:
        raise CommandError("--timeout must be above 0", hint)
    if args.corpus is not None and not args.corpus.is_dir():
        raise CommandError(f"--corpus {args.corpus} is no folder", "name a folder of files to upload too")
    if args.burst and args.faults not in (None, "off"):
        raise CommandError(
            "--burst runs with faults off", "the concurrency limit is the fault: drop --faults"
        )


def run(args: argparse.Namespace) -> int:
    """Exit status 0 when nothing was lost, duplicated, stuck or wrong."""
    from imgflow_tools.local.faults import FaultSpec, FaultSpecError

    check(args)
    if args.burst:
        return _run_burst(args)
    fault_spec = args.faults or soak.DEFAULT_FAULTS
    try:
        FaultSpec.parse(fault_spec, args.seed)
    except FaultSpecError as exc:
        raise CommandError(
            f"--faults {fault_spec}: {exc}", "e.g. s3=0.2,dynamodb=0.1,dup=0.3 or off"
        ) from exc
    started = time.monotonic()
    outcome = _in_time(
        soak.soak,
        args,
        fault_spec=fault_spec,
        seed=args.seed,
        max_in_flight=args.max_in_flight,
    )
    print(outcome.soak_line(time.monotonic() - started), flush=True)
    return 0 if outcome.ok else 1


def _in_time(start: Callable[..., T], args: argparse.Namespace, **options: Any) -> T:
    """``start`` with the options every soak shares; a timeout is a one-line mistake with a hint."""
    try:
        return start(
            images=args.images, endpoint=args.endpoint, corpus=args.corpus, timeout_s=args.timeout, **options
        )
    except TimeoutError as exc:
        raise CommandError(str(exc), "a larger --timeout, or fewer --images") from exc


def _run_burst(args: argparse.Namespace) -> int:
    """``--burst``: exit status 0 when nothing was lost, duplicated, stuck, wrong, or FAILED by throttling."""
    from imgflow_tools.soak import burst  # loads moto: only when the command runs

    report = _in_time(burst.soak_burst, args, concurrency=args.concurrency, log=soak.log)
    soak.log(report.details())
    print(report.line(), flush=True)
    return 0 if report.ok else 1
