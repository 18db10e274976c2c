"""StateStore: the state folder opened (checked, locked), moto's state put back from it, and a flusher
that writes what changed about once a second, in one SQLite transaction per flush."""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from imgflow_tools.local.state import dynamodb, executions, rules, s3, schema
from imgflow_tools.local.state.blobs import Blobs
from imgflow_tools.local.state.changes import Changes
from imgflow_tools.local.state.folder import (
    BLOBS,
    DATABASE,
    FORMAT,
    LOCK,
    StateRefused,
    check_database_file,
    check_format,
    is_empty,
)

log = logging.getLogger("imgflow.state")
#: How often the flusher looks for changes (a crash loses at most about this plus ``SETTLE_S``).
FLUSH_EVERY_S = 1.0
SETTLE_S = 0.25


@dataclass
class Restored:
    """What a start found in the state."""

    objects: int = 0
    items: int = 0
    executions: int = 0
    #: Executions RUNNING when the previous process ended, now ABORTED (their images need the repair).
    aborted: int = 0
    orphans: int = 0
    seconds: float = 0.0
    #: When the previous process last flushed (epoch s; 0: a new state).
    last_flush: float = 0.0
    new: bool = True
    #: The previous process stopped cleanly (flushed everything with no execution running).
    clean: bool = True


class StateStore:
    """``StateStore.open(dir)`` checks and locks the folder (``StateRefused`` if it cannot be used);
    ``restore`` fills moto; ``start`` runs the flusher; ``close`` flushes the rest and releases it."""

    def __init__(self, directory: Path, db: sqlite3.Connection, lock: IO[str], new: bool) -> None:
        self.directory, self.db, self._lock_file, self.new = directory, db, lock, new
        self.blobs = Blobs(directory / BLOBS)
        self.changes = Changes()
        self.tracker = executions.Tracker()
        self.account, self.region = "", ""
        self._db_lock = threading.RLock()
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rules = ""
        self._buckets: set[str] = set()
        self.flushes = 0

    # -- opening --------------------------------------------------------------------------------------
    @classmethod
    def open(cls, directory: Path) -> StateStore:
        directory = directory.expanduser().absolute()
        new = is_empty(directory)
        if not new:
            check_format(directory, check_database_file(directory))
        directory.mkdir(parents=True, exist_ok=True)
        lock = (directory / LOCK).open("a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise StateRefused(
                directory, "another imgflow serve uses it", "stop that one, or use --state DIR or --ephemeral"
            ) from None
        try:
            db = cls._connect(directory, new)
        except BaseException:
            lock.close()
            raise
        return cls(directory, db, lock, new)

    @staticmethod
    def _connect(directory: Path, new: bool) -> sqlite3.Connection:
        if not new:
            StateStore._check(directory)
        db = sqlite3.connect(directory / DATABASE, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        if new:
            schema.create(db, FORMAT)
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the header carries the format from now on
        elif (found := db.execute("PRAGMA user_version").fetchone()[0]) != FORMAT:
            schema.migrate(db, found, FORMAT)
        return db

    @staticmethod
    def _check(directory: Path) -> None:
        """Read the whole state once, read-only (a read-only connection never checkpoints, so a refused
        folder keeps its files as they were): SQLite's own check, the marker, the format, the bodies."""
        uri = f"{(directory / DATABASE).as_uri()}?mode=ro"
        try:
            db = sqlite3.connect(uri, uri=True)
        except sqlite3.DatabaseError as exc:
            raise StateRefused(directory, f"{DATABASE} cannot be opened (SQLite: {exc})") from None
        try:
            problem = db.execute("PRAGMA quick_check").fetchone()[0]
            if problem != "ok":
                raise StateRefused(directory, f"{DATABASE} is damaged (SQLite: {problem})")
            app = db.execute("SELECT value FROM meta WHERE name = 'app'").fetchone()
            if not app or app[0] != schema.APP:
                raise StateRefused(directory, f"{DATABASE} is not an imgflow state")
            check_format(directory, db.execute("PRAGMA user_version").fetchone()[0])
            referenced = {r[0] for r in db.execute("SELECT DISTINCT blob FROM s3_objects")}
        except sqlite3.DatabaseError as exc:
            raise StateRefused(directory, f"{DATABASE} cannot be read (SQLite: {exc})") from None
        finally:
            db.close()
        missing = referenced - Blobs(directory / BLOBS).present()
        if missing:
            raise StateRefused(
                directory,
                f"{len(missing)} object bodies are missing from {BLOBS}/ (copied in part, or removed)",
            )

    # -- meta -----------------------------------------------------------------------------------------
    def get(self, name: str) -> str | None:
        with self._db_lock:
            row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def put(self, name: str, value: str) -> None:
        with self._db_lock:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))

    # -- restoring ------------------------------------------------------------------------------------
    def restore(self, account: str, region: str) -> Restored:
        """Put the state back into moto (after ``LocalCloud.deploy``: the resources exist)."""
        started = time.perf_counter()
        self.account, self.region = account, region
        done = Restored(
            new=self.new,
            last_flush=float(self.get("flushed_at") or 0),
            clean=self.new or self.get("clean_stop") == "1",
        )
        self.put("clean_stop", "0")
        with self._db_lock:
            buckets = [r[0] for r in self.db.execute("SELECT bucket FROM s3_buckets")]
            objects = self.db.execute("SELECT bucket, key, blob, size, info FROM s3_objects").fetchall()
            items = self.db.execute("SELECT tbl, item FROM ddb_items").fetchall()
            runs = self.db.execute(
                "SELECT arn, machine, name, status, start, stop, input, output, error, cause, x'' "
                "FROM sfn_executions"
            ).fetchall()
        done.objects = s3.restore(account, region, buckets, objects, self.blobs)
        del objects
        done.items, missing = dynamodb.restore(account, region, items)
        if missing:
            log.warning(
                "state: items of tables not deployed were not restored: %s", ", ".join(sorted(missing))
            )
        restored, aborted, done.orphans = executions.restore(
            account, region, runs, self.history, datetime.now(UTC)
        )
        done.executions, done.aborted = len(restored), len(aborted)
        self.tracker.pending = aborted
        if saved_rules := self.get("events.rules"):
            rules.restore(account, region, saved_rules)
        self._rules = rules.capture(account, region)
        self._buckets = s3.bucket_names(account)
        referenced = {r[0] for r in self.db.execute("SELECT DISTINCT blob FROM s3_objects")}
        self.blobs.remove_unreferenced(referenced)
        done.seconds = time.perf_counter() - started
        return done

    def history(self, arn: str) -> executions.Events:
        with self._db_lock:
            row = self.db.execute("SELECT history FROM sfn_executions WHERE arn = ?", (arn,)).fetchone()
        return executions.unpack(row[0]) if row else []

    # -- flushing -------------------------------------------------------------------------------------
    def start(self, every_s: float = FLUSH_EVERY_S) -> StateStore:
        from imgflow_tools.local.state import changes

        changes.active = self.changes
        self._thread = threading.Thread(target=self._loop, args=(every_s,), name="imgflow-state", daemon=True)
        self._thread.start()
        return self

    def _loop(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            try:
                self.flush()
            except Exception:  # the next flush tries again; what was taken is marked again
                log.exception("state: flush failed")

    def flush(self, settle_s: float = SETTLE_S) -> int:
        """Write what changed in one transaction; returns the number of rows written."""
        with self._flush_lock:
            marks = self.changes.take(settle_s)
            try:
                return self._write(marks)
            except BaseException:
                for mark in marks:  # nothing was committed: flush them next time
                    self.changes.mark(mark)
                raise

    def _write(self, marks: list[tuple[str, str, str]]) -> int:
        account, region = self.account, self.region
        synced: set[Path] = set()
        put_objects: list[s3.ObjectRow] = []
        gone_objects: list[tuple[str, str]] = []
        put_items: list[dynamodb.ItemRow] = []
        gone_items: list[dynamodb.ItemRow] = []
        whole_tables: list[str] = []
        for kind, container, name in marks:
            if kind == "s3":
                row = s3.capture(account, container, name, self.blobs, synced)
                (put_objects.append(row) if row else gone_objects.append((container, name)))
            elif kind == "ddb":
                if (item := dynamodb.capture(account, region, container, name)) is not None:
                    (put_items if item[2] else gone_items).append(item)
            else:
                whole_tables.append(container)
        table_rows = {t: dynamodb.capture_table(account, region, t) for t in whole_tables}
        runs = self.tracker.capture(account, region)
        rules_now = rules.capture(account, region)
        buckets_now = s3.bucket_names(account)
        written = len(put_objects) + len(gone_objects) + len(put_items) + len(gone_items) + len(runs)
        written += (
            sum(map(len, table_rows.values())) + (rules_now != self._rules) + (buckets_now != self._buckets)
        )
        if not written:
            return 0
        Blobs.sync(synced)  # bodies reach the disk before the rows that name them
        with self._db_lock:
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany("INSERT OR REPLACE INTO s3_objects VALUES (?, ?, ?, ?, ?)", put_objects)
                db.executemany("DELETE FROM s3_objects WHERE bucket = ? AND key = ?", gone_objects)
                db.executemany("INSERT OR REPLACE INTO ddb_items VALUES (?, ?, ?)", put_items)
                db.executemany("DELETE FROM ddb_items WHERE tbl = ? AND key = ?", [i[:2] for i in gone_items])
                for table, rows in table_rows.items():
                    db.execute("DELETE FROM ddb_items WHERE tbl = ?", (table,))
                    db.executemany("INSERT INTO ddb_items VALUES (?, ?, ?)", rows)
                db.executemany(
                    "INSERT OR REPLACE INTO sfn_executions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", runs
                )
                if buckets_now != self._buckets:
                    db.execute("DELETE FROM s3_buckets")
                    db.executemany("INSERT INTO s3_buckets VALUES (?)", [(b,) for b in sorted(buckets_now)])
                if rules_now != self._rules:
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('events.rules', ?)", (rules_now,))
                db.execute("INSERT OR REPLACE INTO meta VALUES ('flushed_at', ?)", (repr(time.time()),))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        self._rules, self._buckets = rules_now, buckets_now
        self.flushes += 1
        return written

    # -- closing --------------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the flusher, write everything left, and release the folder."""
        from imgflow_tools.local.state import changes

        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        try:
            if self.account:
                self.flush(settle_s=0)
                idle = not executions.running(self.account, self.region)
                self.put("clean_stop", "1" if idle else "0")
            with self._db_lock:
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            if changes.active is self.changes:
                changes.active = None
            self.db.close()
            self._lock_file.close()


def open_state(directory: Path) -> StateStore:
    return StateStore.open(directory)


def size_on_disk(directory: Path) -> dict[str, int]:
    """Bytes used: the database (with its WAL) and the bodies."""
    database = sum(
        (directory / f"{DATABASE}{suffix}").stat().st_size
        for suffix in ("", "-wal", "-shm")
        if (directory / f"{DATABASE}{suffix}").exists()
    )
    bodies = (
        sum(
            entry.stat().st_size
            for sub in os.scandir(directory / BLOBS)
            if sub.is_dir()
            for entry in os.scandir(sub.path)
        )
        if (directory / BLOBS).is_dir()
        else 0
    )
    return {"database": database, "bodies": bodies}
