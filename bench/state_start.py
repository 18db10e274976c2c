"""``python -m bench.state_start [--images 10000] [--base 20]``: the start of a persistent local stack with
``--images`` images in its state, and the state's disk use per image.

``--base`` real images (bench E's JPEGs) go through the workflow into a state folder; their rows (objects,
items, executions) are then copied under new image ids up to ``--images`` (bodies shared, as the restore
reads none of them), and a LocalCloud is started on it: ``open_s`` (the read-only checks), ``restore_s`` and
``start_s`` (the whole start: moto, deploy, restore) are printed as one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import sys
import tempfile
from pathlib import Path

from bench.tasks import demo_images
from imgflow_tools.local.state.store import size_on_disk


def _build(folder: Path, base: int) -> list[str]:
    import requests

    from imgflow_tools.demo import upload_paced, wait_for_records
    from imgflow_tools.local.cloud import LocalCloud
    from imgflow_tools.local.state import StateStore

    with tempfile.TemporaryDirectory(prefix="imgflow-bench-") as tmp:
        files = demo_images(Path(tmp), base)
        with LocalCloud(state=StateStore.open(folder)) as cloud, contextlib.redirect_stdout(sys.stderr):
            with requests.Session() as session:
                uploads = upload_paced(files, cloud, session)
            records = wait_for_records(cloud, uploads, timeout=1800, progress=False)
    return list(records)


def _multiply(folder: Path, ids: list[str], images: int) -> None:
    db = sqlite3.connect(folder / "state.sqlite3")
    tables = {
        "s3_objects": "bucket, key, blob, size, info",
        "ddb_items": "tbl, key, item",
        "sfn_executions": "arn, machine, name, status, start, stop, input, output, error, cause, history",
    }
    rows = {t: db.execute(f"SELECT {c} FROM {t}").fetchall() for t, c in tables.items()}
    with db:
        for n in range(len(ids), images):
            old = ids[n % len(ids)]
            new = f"{old[:-8]}{n:08d}"
            for table, columns in tables.items():
                if table == "sfn_executions":  # one run per image: named by its own id, not the image's
                    mine = [rows[table][n % len(rows[table])]]
                    copies = [(f"{r[0]}-{n}", r[1], f"{r[2]}-{n}", *r[3:]) for r in mine]
                else:
                    mine = [r for r in rows[table] if any(isinstance(v, str) and old in v for v in r)]
                    copies = [
                        tuple(v.replace(old, new) if isinstance(v, str) else v for v in r) for r in mine
                    ]
                marks = ", ".join("?" * len(columns.split(",")))
                db.executemany(f"INSERT OR IGNORE INTO {table} VALUES ({marks})", copies)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.state_start", description=__doc__)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--base", type=int, default=20)
    parser.add_argument(
        "--keep", type=Path, help="build the state here (and keep it) instead of a temp folder"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="imgflow-state-") as tmp:
        folder = args.keep or Path(tmp) / "state"
        ids = _build(folder, args.base)
        base_disk = size_on_disk(folder)
        _multiply(folder, ids, args.images)
        db = sqlite3.connect(folder / "state.sqlite3")
        counts = {
            t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("s3_objects", "ddb_items", "sfn_executions")
        }
        db.close()
        result = {"images": args.images, "rows": counts, "disk_base": {"images": args.base, **base_disk}}
        result["disk"] = size_on_disk(folder)
        script = (
            "import json, sys, time; t0 = time.perf_counter();"
            "from pathlib import Path; from imgflow_tools.local.state import StateStore;"
            "from imgflow_tools.local.cloud import LocalCloud;"
            f"s = StateStore.open(Path({str(folder)!r})); t1 = time.perf_counter();"
            "c = LocalCloud(state=s).start(); t2 = time.perf_counter();"
            "print(json.dumps({'open_s': t1 - t0, 'restore_s': c.restored.seconds, 'start_s': t2 - t0,"
            "'restored': c.restored.executions})); c.stop()"
        )
        import subprocess

        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        result.update(json.loads(out.stdout.strip().splitlines()[-1]))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
