"""``imgflow soak``, 100 uploads with faults on, run as the command (its own process and local stack)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from imgflow_tools.soak.soak import DEFAULT_FAULTS

LINE = re.compile(
    r"^soak uploads=(\d+) records=(\d+) lost=(\d+) duplicated=(\d+) stuck=(\d+) wrong=(\d+) "
    r"retries=(\d+) wall_s=([\d.]+)$"
)


@pytest.mark.slow
def test_a_hundred_uploads_under_faults_each_end_in_their_one_right_record() -> None:
    env = {**os.environ, "IMGFLOW_LOCAL_TIME_SCALE": "0.005"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "imgflow_tools.cli",
            "soak",
            "--images",
            "100",
            "--faults",
            DEFAULT_FAULTS,
            "--seed",
            "7",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr[-3000:]
    match = LINE.match(lines[-1])
    assert match, lines[-1]
    uploads, records, lost, duplicated, stuck, wrong, retries = map(int, match.groups()[:7])
    assert (uploads, records) == (100, 100), done.stderr[-3000:]
    assert (lost, duplicated, stuck, wrong) == (0, 0, 0, 0), done.stderr[-3000:]
    assert retries > 10  # the faults were on: the workflow retried
    assert done.returncode == 0
    # Faults were injected of every kind the setting names.
    injected = next(line for line in done.stderr.splitlines() if "injected:" in line)
    for kind in ("dynamodb:", "s3:", "lambda:", "event:drop", "event:dup"):
        assert kind in injected, injected
