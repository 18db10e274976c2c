"""The state folder of ``imgflow serve``: where it is, what it holds, and the checks made before it is opened.

Layout (format ``FORMAT``)::

    <dir>/state.sqlite3      SQLite (WAL): every record; PRAGMA user_version = the format
    <dir>/blobs/ab/<sha256>  S3 object bodies, content-addressed (one file per distinct body)
    <dir>/lock               held (flock) by the one ``imgflow serve`` using the folder

Every check here reads and never writes, so a refused folder is left exactly as it was.
"""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

from imgflow_tools import tokens

#: The on-disk format this imgflow writes and reads (``PRAGMA user_version``); older ones are migrated by
#: ``schema.MIGRATIONS`` or refused in words.
FORMAT = 1
DATABASE = "state.sqlite3"
BLOBS = "blobs"
LOCK = "lock"
#: Files SQLite and this module keep beside the database.
KNOWN = frozenset({DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm", BLOBS, LOCK})
_SQLITE_MAGIC = b"SQLite format 3\x00"


class StateRefused(Exception):
    """The folder cannot be used as it is: one line naming the folder, what is wrong and what to do."""

    def __init__(self, directory: Path, problem: str, remedy: str | None = None) -> None:
        remedy = remedy or (
            "nothing was changed; start with --reset to move it aside and begin an empty stack, "
            "or --state DIR for another folder"
        )
        super().__init__(f"state folder {directory}: {problem}; {remedy}")
        self.directory = directory


def default_dir() -> Path:
    """The per-user stack beside the token key: ``<state dir>/stacks/default``."""
    return tokens.state_dir() / "stacks" / "default"


def is_empty(directory: Path) -> bool:
    return not directory.exists() or not any(directory.iterdir())


def check_database_file(directory: Path) -> int:
    """The format of ``state.sqlite3``, read from its header, after checking that the file is whole.

    SQLite's header says how many pages the database has (valid when its change counter matches the
    version-valid-for number): a file shorter than that was truncated or half-copied."""
    path = directory / DATABASE
    if not directory.is_dir():
        raise StateRefused(directory, "is not a folder")
    if not path.exists():
        strays = sorted(p.name for p in directory.iterdir())
        raise StateRefused(
            directory,
            f"holds {', '.join(strays[:3])}{' ...' if len(strays) > 3 else ''} but no {DATABASE} "
            "(not an imgflow state, or copied only in part)",
        )
    size = path.stat().st_size
    with path.open("rb") as db:
        header = db.read(100)
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        raise StateRefused(directory, f"{DATABASE} is not a SQLite database (damaged or replaced)")
    (page_size,) = struct.unpack(">H", header[16:18])
    page_size = 65536 if page_size == 1 else page_size
    change_counter, pages = struct.unpack(">II", header[24:32])
    (valid_for,) = struct.unpack(">I", header[92:96])
    if size % page_size or (change_counter == valid_for and size < pages * page_size):
        expected = pages * page_size if change_counter == valid_for else "a multiple of the page size"
        raise StateRefused(
            directory, f"{DATABASE} is truncated ({size} bytes, expected {expected}): damaged or half-copied"
        )
    (version,) = struct.unpack(">I", header[60:64])
    return int(version)


def check_format(directory: Path, version: int) -> None:
    from imgflow_tools.local.state.schema import MIGRATIONS

    if version == FORMAT or version in MIGRATIONS:
        return
    if version == 0:
        raise StateRefused(directory, f"{DATABASE} is a SQLite database but not an imgflow state")
    if version > FORMAT:
        raise StateRefused(
            directory,
            f"it was written by a newer imgflow (state format {version}; this one reads up to {FORMAT})",
            "nothing was changed; run that newer imgflow on it, or start this one with --reset to move it "
            "aside and begin an empty stack",
        )
    raise StateRefused(
        directory,
        f"it has state format {version}, older than any this imgflow migrates (it migrates "
        f"{', '.join(map(str, sorted(MIGRATIONS))) or 'none'}; it writes {FORMAT})",
    )


def move_aside(directory: Path) -> Path | None:
    """``--reset``: the old folder is renamed ``<dir>.reset-<time>`` (never deleted); None if empty."""
    if is_empty(directory):
        return None
    aside = directory.with_name(f"{directory.name}.reset-{time.strftime('%Y%m%dT%H%M%S')}")
    n = 1
    while aside.exists():
        n += 1
        aside = aside.with_name(f"{directory.name}.reset-{time.strftime('%Y%m%dT%H%M%S')}-{n}")
    os.rename(directory, aside)
    return aside
