"""The SQLite schema of the state (format ``folder.FORMAT``), and the migrations from older formats."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

APP = "imgflow-local-state"

TABLES = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE s3_buckets (bucket TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE s3_objects (
    bucket TEXT NOT NULL, key TEXT NOT NULL,
    blob TEXT NOT NULL, size INTEGER NOT NULL, info TEXT NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE TABLE ddb_items (tbl TEXT NOT NULL, key TEXT NOT NULL, item TEXT NOT NULL, PRIMARY KEY (tbl, key))
    WITHOUT ROWID;
CREATE TABLE sfn_executions (
    arn TEXT PRIMARY KEY, machine TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
    start REAL NOT NULL, stop REAL, input TEXT, output TEXT, error TEXT, cause TEXT,
    history BLOB NOT NULL
);
CREATE INDEX sfn_executions_machine ON sfn_executions (machine);
"""

#: format -> the function that brings a database of that format to the next one (none yet: format 1 is
#: the first). A migration runs inside the transaction that also sets the new user_version.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {}


def create(db: sqlite3.Connection, version: int) -> None:
    with db:
        db.executescript(f"BEGIN; {TABLES} COMMIT;")
        db.execute("INSERT INTO meta VALUES ('app', ?)", (APP,))
        db.execute(f"PRAGMA user_version = {int(version)}")


def migrate(db: sqlite3.Connection, found: int, target: int) -> None:
    while found < target:
        with db:
            MIGRATIONS[found](db)
            found += 1
            db.execute(f"PRAGMA user_version = {found}")
