"""``imgflow serve --state DIR`` keeps its stack across a crash (SIGKILL) and a clean stop (SIGTERM); a run
killed mid-flight ends final after the restart's repair; a damaged or newer state is refused, untouched."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from imgflow_tools import aws_keys, tokens
from imgflow_tools.local.state import FORMAT, StateStore
from tests.support.images import encode
from tests.support.serve import serve_env, serve_process, serving
from tests.support.waiting import FINAL_IMAGE_STATUSES as FINAL
from tests.support.waiting import wait_image

STARTUP_TIMEOUT = 120
#: More than the flusher's period plus its settle time: what a crash may lose.
FLUSHED_S = 2.5


def _jpeg(seed: int) -> bytes:
    return encode(
        Image.linear_gradient("L").rotate(seed * 37).resize((320 + seed, 240)).convert("RGB"), "JPEG"
    )


def _session(state: Path) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {tokens.issue('dora', key=tokens.local_key(state))}"
    return session


def _upload(api: str, session: requests.Session, data: bytes) -> str:
    body = {"filename": "photo.jpg", "content_type": "image/jpeg", "size": len(data)}
    ticket = session.post(f"{api}/uploads", json=body, timeout=30).json()
    post = ticket["upload"]
    sent = requests.post(
        post["url"], data=post["fields"], files={"file": ("photo.jpg", data, "image/jpeg")}, timeout=30
    )
    assert sent.status_code == 204, sent.text
    return str(ticket["id"])


def _wait(api: str, session: requests.Session, image_id: str, timeout: float = 90) -> dict[str, Any]:
    return wait_image(session, f"{api}/images/{image_id}", timeout=timeout)


def _seen(api: str, session: requests.Session, ids: list[str]) -> dict[str, Any]:
    """What a user sees of each image: the record (without signed URLs), the bytes behind them, the runs."""
    seen: dict[str, Any] = {}
    for image_id in ids:
        record = session.get(f"{api}/images/{image_id}", timeout=10).json()
        bodies = {r["name"]: requests.get(r["url"], timeout=10).content for r in record.get("renditions", [])}
        original = requests.get(record.pop("original_url"), timeout=10).content
        for rendition in record.get("renditions", []):
            rendition.pop("url", None)
        runs = session.get(f"{api}/images/{image_id}/runs", timeout=30).json()["runs"]
        accesses = (record.pop("access_count", None), record.pop("last_accessed_at", None))
        seen[image_id] = {
            "record": record,
            "bodies": bodies,
            "original": original,
            "runs": runs,
            "accesses": accesses[0],
        }
    return seen


def _same(after: dict[str, Any], before: dict[str, Any], reads: int) -> None:
    """The same images; each GET of a PROCESSED image since ``before`` counted one access."""
    for image_id, seen in before.items():
        assert after[image_id]["accesses"] == seen["accesses"] + reads
        assert {**after[image_id], "accesses": 0} == {**seen, "accesses": 0}


def _folder_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / tokens.KEY_FILE).write_text(os.urandom(32).hex())
    return tmp_path


def test_records_renditions_tags_and_runs_survive_a_crash_and_a_clean_stop(home: Path) -> None:
    folder = home / "stack"
    env = serve_env(home)
    args = ("--state", str(folder), "--repair-every", "0")
    session = _session(home)
    with serve_process(env, timeout=STARTUP_TIMEOUT, args=args) as (proc, info):
        assert info["state"] == str(folder)
        api = info["api"]
        ids = [_upload(api, session, _jpeg(n)) for n in range(3)]
        assert all(_wait(api, session, i)["status"] == "PROCESSED" for i in ids)
        tagged = session.patch(f"{api}/images/{ids[0]}", json={"tags": ["kept"]}, timeout=10)
        assert tagged.status_code == 200, tagged.text
        before = _seen(api, session, ids)
        assert before[ids[0]]["record"]["tags"] == ["kept"] and all(before[i]["bodies"] for i in ids)
        time.sleep(FLUSHED_S)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    with serve_process(env, timeout=STARTUP_TIMEOUT, args=args) as (proc, info):
        assert info["restored"]["items"] >= 3 and info["restored"]["aborted"] == 0
        _same(_seen(info["api"], session, ids), before, reads=1)  # after the crash
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    with serving(env, timeout=STARTUP_TIMEOUT, args=args) as info:
        _same(_seen(info["api"], session, ids), before, reads=2)  # after the clean stop


def test_a_run_killed_mid_flight_ends_final_after_restart_and_repair(home: Path) -> None:
    folder = home / "stack"
    args = ("--state", str(folder), "--repair-every", "0")
    # Every Lambda invocation fails and Retry waits in real time: the run stays RUNNING until killed.
    stalled = serve_env(home, FAULTS="lambda=1", LOCAL_TIME_SCALE="1")
    session = _session(home)
    with serve_process(stalled, timeout=STARTUP_TIMEOUT, args=args) as (proc, info):
        api = info["api"]
        image_id = _upload(api, session, _jpeg(7))
        deadline = time.monotonic() + 60
        while not session.get(f"{api}/images/{image_id}/runs", timeout=30).json()["runs"]:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        time.sleep(FLUSHED_S)
        assert session.get(f"{api}/images/{image_id}", timeout=10).json()["status"] not in FINAL
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    with serving(serve_env(home), timeout=STARTUP_TIMEOUT, args=args) as info:
        assert info["restored"]["aborted"] == 1
        record = _wait(info["api"], session, image_id, timeout=120)
        assert record["status"] == "PROCESSED"
        runs = session.get(f"{info['api']}/images/{image_id}/runs", timeout=30).json()["runs"]
        assert {r["status"] for r in runs} >= {"ABORTED", "SUCCEEDED"}


def _refusal(home: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imgflow_tools.cli", "serve", "--port", "0", "--state", str(folder)],
        env=serve_env(home),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _refused_untouched(home: Path, folder: Path) -> str:
    """Start serve on ``folder``: it must refuse in one line on stderr (returned), exit 2, and leave the
    folder as it was."""
    before = _folder_hash(folder)
    refused = _refusal(home, folder)
    assert refused.returncode == 2 and refused.stdout == ""
    (line,) = refused.stderr.strip().splitlines()
    assert _folder_hash(folder) == before
    return line


def _small_state(folder: Path) -> None:
    store = StateStore.open(folder)
    with store.db:
        store.db.executemany(
            "INSERT INTO ddb_items VALUES ('t', ?, ?)", [(str(n), "x" * 2000) for n in range(50)]
        )
    store.close()


def _set_format(folder: Path, version: int) -> None:
    db = sqlite3.connect(folder / "state.sqlite3")
    db.execute(f"PRAGMA user_version = {version}")
    db.commit()
    db.close()


def test_a_truncated_state_is_refused_and_left_as_it_was(home: Path) -> None:
    folder = home / "stack"
    _small_state(folder)
    database = folder / "state.sqlite3"
    database.write_bytes(database.read_bytes()[: database.stat().st_size // 2 + 100])
    line = _refused_untouched(home, folder)
    assert str(folder) in line and "truncated" in line and "--reset" in line


def test_a_state_from_a_newer_imgflow_is_refused_and_left_as_it_was(home: Path) -> None:
    folder = home / "stack"
    _small_state(folder)
    _set_format(folder, FORMAT + 1)
    line = _refused_untouched(home, folder)
    assert str(folder) in line and f"state format {FORMAT + 1}" in line and "newer imgflow" in line


def test_reset_moves_the_refused_state_aside_and_starts_empty(home: Path) -> None:
    folder = home / "stack"
    _small_state(folder)
    _set_format(folder, FORMAT + 1)
    before = _folder_hash(folder)
    args = ("--state", str(folder), "--reset", "--repair-every", "0")
    with serving(serve_env(home), timeout=STARTUP_TIMEOUT, args=args) as info:
        assert info["state"] == str(folder) and info["restored"]["items"] == 0
    (aside,) = home.glob("stack.reset-*")
    assert _folder_hash(aside) == before


def test_ephemeral_serve_writes_no_state(home: Path) -> None:
    with serving(serve_env(home), timeout=STARTUP_TIMEOUT) as info:
        assert info["state"] is None and info["restored"] is None
    # The stack's keys (token key, operator credentials) and the log; no state folder.
    assert sorted(p.name for p in home.iterdir()) == sorted(
        [aws_keys.CREDENTIALS_FILE, tokens.KEY_FILE, "serve.log"]
    )
