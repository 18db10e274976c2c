"""The ``imgflow`` commands: one module each, listed once in ``imgflow_tools.cli.COMMANDS``.

Every command module has the same two entry points: ``add_parser(subparsers)`` adds its sub-parser and
returns it, ``run(args)`` does the command and returns the exit status. The work itself lives in ``demo``,
``local``, ``ops`` and ``soak``; a command module only parses, calls and prints.
"""

from __future__ import annotations

import argparse
from typing import Protocol, TypeAlias

#: What ``ArgumentParser.add_subparsers`` returns.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class Command(Protocol):
    """The shape of a command module."""

    def add_parser(self, subparsers: Subparsers) -> argparse.ArgumentParser: ...

    def run(self, args: argparse.Namespace) -> int: ...
