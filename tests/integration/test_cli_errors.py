"""Every command answers a mistake in one line on stderr, with a hint and exit status 2, never a traceback.

The commands are read from ``imgflow_tools.cli`` (a new command is covered without a change here, unless it
has required arguments: then ``MINIMAL`` must say how to call it). Each runs as a user runs it, a process.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from imgflow_tools.cli import _parser
from imgflow_tools.local.cloud import LocalCloud
from tests.support.paths import REPO

#: The arguments that make a valid call of a command that has required ones.
MINIMAL = {
    "token": ["alice"],
    "reprocess": ["--mode", "failed"],
    "runs show": ["show", "some-image"],
    "iam": ["--endpoint", "http://127.0.0.1:9"],
}
#: Mistakes only the command can see (argparse takes the values): argv after the command's name.
REFUSED = {
    "demo": [["/no/such/photo.jpg"], ["--timeout", "0"]],
    "serve": [["--port", "70000"], ["--repair-every", "-1"]],
    "iam": [["--endpoint", "127.0.0.1:9"]],
    "token": [["alice", "--ttl", "-1"], ["alice", "--ttl", "0"], ["not a name"]],
    "runs": [["--limit", "0"]],
    "soak": [
        ["--corpus", "/no/such/folder"],
        ["--images", "0"],
        ["--faults", "s3=2"],
        ["--burst", "--faults", "s3=0.1"],
    ],
    "reprocess": [
        ["--mode", "failed", "--since", "yesterday"],
        ["--mode", "stuck", "--older-than", "-1"],
        ["--mode", "failed", "--owner", "../x"],
        ["--mode", "all", "--max-images", "0"],
        ["--mode", "failed", "--since", "2026-02-01", "--until", "2026-01-01"],
    ],
}


def _commands() -> dict[str, argparse.ArgumentParser]:
    """Every command and subcommand of ``imgflow``, by name ("runs show")."""

    def sub(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        return dict(actions[0].choices) if actions else {}

    found = {}
    for name, parser in sub(_parser()).items():
        found[name] = parser
        found.update({f"{name} {child}": p for child, p in sub(parser).items()})
    return found


COMMANDS = _commands()


def _argv(name: str) -> list[str]:
    parser = COMMANDS[name]
    required = [
        a
        for a in parser._actions
        if a.required and a.nargs not in ("*", "?") and not isinstance(a, argparse._SubParsersAction)
    ]
    assert name in MINIMAL or not required, f"say in MINIMAL how to call `imgflow {name}`"
    return [name.split()[0], *MINIMAL.get(name, [])]


def _takes(name: str, option: str) -> bool:
    return option in COMMANDS[name]._option_string_actions


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No AWS settings at all (no region, no credentials, no config files, no instance metadata)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IMGFLOW_"))}
    return {
        **env,
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "IMGFLOW_STATE_DIR": str(tmp_path / "state"),
        **extra,
    }


def imgflow(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imgflow_tools.cli", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=REPO,
    )


def assert_one_line(done: subprocess.CompletedProcess[str], name: str) -> str:
    lines = done.stderr.splitlines()
    assert "Traceback" not in done.stderr and len(lines) == 1, done.stderr
    assert done.returncode == 2, done.stderr
    assert lines[0].startswith(f"imgflow {name.split()[0]}"), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def closed_port() -> str:
    """The URL of a local port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


CASES = [(name, [*_argv(name), "--no-such-option"]) for name in COMMANDS] + [
    (name, [name, *argv]) for name, refused in REFUSED.items() for argv in refused
]


@pytest.mark.parametrize(("name", "argv"), CASES, ids=[" ".join(argv) for _, argv in CASES])
def test_bad_arguments_are_one_line(name: str, argv: list[str], tmp_path: Path) -> None:
    line = assert_one_line(imgflow(argv, _env(tmp_path)), name)
    assert ": " in line.split(":", 1)[1] or "--help" in line  # what is wrong, and what to do


def test_every_command_has_a_refused_case() -> None:
    assert {name.split()[0] for name in COMMANDS} <= set(REFUSED)


@pytest.mark.parametrize("name", [n for n in COMMANDS if _takes(n, "--endpoint")])
def test_an_unreachable_endpoint_is_one_line(name: str, closed_port: str, tmp_path: Path) -> None:
    line = assert_one_line(imgflow([*_argv(name), "--endpoint", closed_port], _env(tmp_path)), name)
    assert f"no imgflow stack answers at {closed_port}: start `imgflow serve` or pass --endpoint" in line


@pytest.mark.parametrize("name", [n for n in COMMANDS if _takes(n, "--region")])
def test_no_region_is_one_line(name: str, tmp_path: Path) -> None:
    line = assert_one_line(imgflow(_argv(name), _env(tmp_path)), name)
    assert "no AWS region: pass --region" in line


@pytest.mark.parametrize("name", [n for n in COMMANDS if _takes(n, "--region")])
def test_no_credentials_is_one_line(name: str, tmp_path: Path) -> None:
    line = assert_one_line(imgflow(_argv(name), _env(tmp_path, AWS_DEFAULT_REGION="eu-west-1")), name)
    assert "no AWS credentials" in line


def test_a_bad_reprocess_request_starts_no_run(cloud: LocalCloud, tmp_path: Path) -> None:
    sfn = cloud.client("stepfunctions")
    reprocess_arn = next(
        m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if "reprocess" in m["name"]
    )

    def runs() -> int:
        return len(sfn.list_executions(stateMachineArn=reprocess_arn)["executions"])

    before = runs()
    for argv in REFUSED["reprocess"]:
        line = assert_one_line(
            imgflow(["reprocess", *argv, "--endpoint", cloud.endpoint], _env(tmp_path)), "reprocess"
        )
        assert "see `imgflow reprocess --help`" in line
    assert runs() == before
