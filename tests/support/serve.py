"""A real ``imgflow serve`` in its own process (port 0), for the fixtures that test against one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from imgflow_tools import aws_keys


def serve_env(state: Path, **imgflow: str) -> dict[str, str]:
    """This environment without ``AWS_*``/``IMGFLOW_*``; state in ``state``, waits scaled 1000x down,
    plus ``imgflow`` (``MAX_BYTES="..."`` -> ``IMGFLOW_MAX_BYTES``)."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IMGFLOW_"))},
        "IMGFLOW_STATE_DIR": str(state),
        "IMGFLOW_LOCAL_TIME_SCALE": "0.001",
        **{f"IMGFLOW_{name}": value for name, value in imgflow.items()},
    }


@contextmanager
def serving(env: dict[str, str], **options: Any) -> Iterator[dict[str, Any]]:
    """Start ``imgflow serve --port 0 --json`` (ephemeral unless ``args`` say otherwise; ``options`` as
    ``serve_process``'s), yield the JSON line it prints once up, terminate it after."""
    with serve_process(env, **options) as (_, info):
        yield info


@contextmanager
def serve_process(
    env: dict[str, str],
    *,
    timeout: float,
    cwd: Path | None = None,
    args: tuple[str, ...] = ("--ephemeral",),
) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """``serving``, also yielding the process (to kill it).

    Its stderr goes to ``serve.log`` in ``IMGFLOW_STATE_DIR`` (appended); a server not up within ``timeout``
    seconds is killed and the test fails with the log's tail.
    """
    log_path = Path(env["IMGFLOW_STATE_DIR"]) / "serve.log"
    with log_path.open("a") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "imgflow_tools.cli", "serve", "--port", "0", "--json", *args],
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
            text=True,
            cwd=cwd,
        )
        watchdog = threading.Timer(timeout, proc.kill)
        watchdog.start()
        assert proc.stdout is not None
        line = proc.stdout.readline()
        watchdog.cancel()
        if not line:
            proc.wait(5)
            pytest.fail(f"imgflow serve did not start:\n{log_path.read_text()[-3000:]}")
        try:
            yield proc, json.loads(line)
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def operator_call(
    method: str, url: str, body: Any = None, *, keys: dict[str, str] | None = None
) -> requests.Response:
    """A call to a local endpoint's ``/moto-api`` or ``/_imgflow`` routes (JSON ``body``), signed with the
    operator's key: ``keys`` (a serve's ``info["aws"]``), else this process's (in-process ``LocalCloud``)."""
    data = b"" if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if body is not None else {}
    signed = aws_keys.signed_headers(method, url, data, headers=headers, keys=keys)
    return requests.request(method, url, data=data, headers=signed, timeout=10)


def operator_client(service: str, endpoint: str, keys: dict[str, str]) -> Any:
    """A boto3 client of a local endpoint signing with the operator's ``keys`` (a serve's ``info["aws"]``)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=keys.get("region", aws_keys.REGION),
        aws_access_key_id=keys["access_key_id"],
        aws_secret_access_key=keys["secret_access_key"],
        config=Config(signature_version="s3v4") if service == "s3" else None,
    )
