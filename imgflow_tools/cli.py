"""The ``imgflow`` command: the one list of its commands, and the one place mistakes are answered.

A command is a module of ``imgflow_tools.commands`` with ``add_parser(subparsers)`` and ``run(args)``; adding
one means that module and one entry in ``COMMANDS``. Every mistake (bad arguments, a stack that does not
answer, no region, a connection lost mid-run) is one line on stderr, ``imgflow CMD: what: hint``, and exit
status 2 (``imgflow_tools.ops.errors``); ``IMGFLOW_DEBUG=1`` shows the traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn, cast

from imgflow_tools.commands import Command, Subparsers, demo, iam, reprocess, runs, serve, soak, token
from imgflow_tools.ops.errors import CommandError, explain

#: Every command, in the order ``imgflow --help`` lists them.
COMMANDS: tuple[Command, ...] = (demo, serve, token, runs, soak, reprocess, iam)


def _usage_error(prog: str, message: str) -> NoReturn:
    print(one_line(prog, CommandError(message, f"see `{prog} --help`")), file=sys.stderr)
    sys.exit(2)


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors in one line (with where to read the usage) instead of two or more."""

    def error(self, message: str) -> NoReturn:
        _usage_error(self.prog, message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="imgflow", description="imgflow: image ingestion on Step Functions")
    # Sub-parsers are ``_Parser``s too (argparse makes them of the parent's class).
    subparsers = cast("Subparsers", parser.add_subparsers(dest="command", required=True))
    for command in COMMANDS:
        command.add_parser(subparsers).set_defaults(run_command=command.run)
    return parser


def one_line(prog: str, error: CommandError) -> str:
    return f"{prog}: {error.line()}"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    prog = f"imgflow {args.command}"
    if unknown:  # argparse would name `imgflow`, not the command
        _usage_error(prog, f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return int(args.run_command(args))
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        error = explain(exc, getattr(args, "endpoint", None))
        if error is None:
            if os.environ.get("IMGFLOW_DEBUG"):
                raise
            error = CommandError(
                f"unexpected {type(exc).__name__}: {exc}", "IMGFLOW_DEBUG=1 shows the traceback", status=1
            )
        print(one_line(prog, error), file=sys.stderr, flush=True)
        return error.status


if __name__ == "__main__":
    sys.exit(main())
