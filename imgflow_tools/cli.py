"""The ``imgflow`` command: the one list of its commands.

A command is a module of ``imgflow_tools.commands`` with ``add_parser(subparsers)`` and ``run(args)``; adding
one means that module and one entry in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import sys

from imgflow_tools.commands import Command, demo, iam, reprocess, runs, serve, soak, token

#: Every command, in the order ``imgflow --help`` lists them.
COMMANDS: tuple[Command, ...] = (demo, serve, token, runs, soak, reprocess, iam)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imgflow", description="imgflow: image ingestion on Step Functions")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(subparsers).set_defaults(run_command=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return int(args.run_command(args))


if __name__ == "__main__":
    sys.exit(main())
