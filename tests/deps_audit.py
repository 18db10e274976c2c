"""Known vulnerabilities in the locked dependencies: pip-audit over requirements/dev.lock and lambda.txt.

``python -m tests.deps_audit [--strict]``. Three outcomes, never a silent pass:

- ``clean``: every pinned package was looked up and none has a known vulnerability (exit 0);
- ``vulnerable``: at least one has, and it is not acknowledged in ``requirements/audit-ignore.txt`` with a
  reason and an expiry date that has not passed (exit 1, in every mode);
- ``not audited``: the vulnerability service could not be reached, or could not look up some packages
  (exit 0 with a ``NOT AUDITED`` line naming what was not checked; exit 2 with ``--strict``). The suite
  reports this as a skipped test with the same line, so a run without the database shows it, and a
  release (``make audit``, strict) cannot pass without a real lookup.

Lines of ``requirements/audit-ignore.txt``: ``<vulnerability id> <YYYY-MM-DD until> <reason...>``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LOCKS = (REPO / "requirements" / "dev.lock", REPO / "requirements" / "lambda.txt")
IGNORE_FILE = REPO / "requirements" / "audit-ignore.txt"
TIMEOUT_S = 15
ATTEMPTS = 2


@dataclass
class Outcome:
    kind: str  # "clean" | "vulnerable" | "not audited"
    audited: int = 0
    vulnerabilities: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    unaudited: list[str] = field(default_factory=list)
    reason: str = ""

    def line(self) -> str:
        if self.kind == "vulnerable":
            return f"audit: VULNERABLE: {'; '.join(self.vulnerabilities)}"
        if self.kind == "not audited":
            names = ", ".join(self.unaudited[:8]) + (" ..." if len(self.unaudited) > 8 else "")
            return (
                f"audit: NOT AUDITED ({self.reason}): {len(self.unaudited)} package(s) unchecked"
                + (f" [{names}]" if names else "")
                + f"; {self.audited} checked, none vulnerable"
            )
        note = (
            f" ({len(self.acknowledged)} acknowledged: {', '.join(self.acknowledged)})"
            if self.acknowledged
            else ""
        )
        return f"audit: clean: {self.audited} packages, no known vulnerabilities{note}"


def acknowledged(text: str, today: date) -> dict[str, str]:
    """{vulnerability id: reason} of the ignore file's entries still in force; ValueError on a bad line."""
    entries = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 2)
        if len(parts) < 3:
            raise ValueError(f"audit-ignore line {number}: '<id> <YYYY-MM-DD> <reason>' expected")
        vuln_id, until, reason = parts
        if date.fromisoformat(until) >= today:
            entries[vuln_id] = reason
    return entries


def classify(returncode: int, stdout: str, stderr: str, ignored: dict[str, str]) -> Outcome:
    """The outcome of one pip-audit run (``--format json``)."""
    try:
        report: Any = json.loads(stdout) if stdout.strip() else None
    except json.JSONDecodeError:
        report = None
    if not isinstance(report, dict) or not isinstance(report.get("dependencies"), list):
        last = (stderr.strip().splitlines() or [f"pip-audit exited {returncode} without a report"])[-1]
        return Outcome("not audited", reason=last[:300], unaudited=["(all)"])
    outcome = Outcome("clean")
    for dep in report["dependencies"]:
        name = f"{dep.get('name')}" + (f"=={dep['version']}" if dep.get("version") else "")
        if dep.get("skip_reason"):
            outcome.unaudited.append(name)
            outcome.reason = outcome.reason or str(dep["skip_reason"])[:200]
            continue
        outcome.audited += 1
        for vuln in dep.get("vulns", []):
            ids = {vuln.get("id", "?"), *vuln.get("aliases", [])}
            known = sorted(ids & ignored.keys())
            label = f"{name} {vuln.get('id')} (fixed in {', '.join(vuln.get('fix_versions') or ['-'])})"
            (outcome.acknowledged if known else outcome.vulnerabilities).append(label)
    if outcome.vulnerabilities:
        outcome.kind = "vulnerable"
    elif outcome.unaudited:
        outcome.kind = "not audited"
    return outcome


def pip_audit_command(locks: tuple[Path, ...] = LOCKS) -> list[str]:
    command = [sys.executable, "-m", "pip_audit", "--format", "json", "--progress-spinner", "off"]
    command += ["--no-deps", "--disable-pip", "--timeout", str(TIMEOUT_S)]
    for lock in locks:
        command += ["-r", str(lock)]
    return command


def audit(
    *, locks: tuple[Path, ...] = LOCKS, env: dict[str, str] | None = None, attempts: int = ATTEMPTS
) -> Outcome:
    """Run pip-audit (retried once when the service is unreachable) and classify its result."""
    ignored = acknowledged(IGNORE_FILE.read_text() if IGNORE_FILE.exists() else "", datetime.now(UTC).date())
    outcome = Outcome("not audited", reason="not run")
    for attempt in range(attempts):
        if attempt:
            time.sleep(3)
        done = subprocess.run(
            pip_audit_command(locks),
            capture_output=True,
            text=True,
            env=env or os.environ.copy(),
            timeout=600,
            check=False,
        )
        outcome = classify(done.returncode, done.stdout, done.stderr, ignored)
        if outcome.kind != "not audited":
            break
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.deps_audit", description=__doc__.split("\n")[0])
    parser.add_argument("--strict", action="store_true", help="exit 2 when the audit could not be done")
    args = parser.parse_args(argv)
    outcome = audit()
    print(outcome.line())
    if outcome.kind == "vulnerable":
        return 1
    if outcome.kind == "not audited":
        return 2 if args.strict else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
