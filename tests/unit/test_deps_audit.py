"""pip-audit over the locked dependencies, and how its outcomes are read (``tests/deps_audit.py``)."""

from __future__ import annotations

import json
import warnings
from datetime import date

import pytest

from tests import deps_audit

CLEAN = {"dependencies": [{"name": "pillow", "version": "13.0.0", "vulns": []}], "fixes": []}
VULNERABLE = {
    "dependencies": [
        {"name": "pillow", "version": "13.0.0", "vulns": []},
        {
            "name": "jinja2",
            "version": "3.1.2",
            "vulns": [
                {"id": "GHSA-h5c8-rqwp-cp95", "aliases": ["CVE-2024-22195"], "fix_versions": ["3.1.3"]}
            ],
        },
    ],
    "fixes": [],
}
# What pip-audit prints, exit status 0 and "No known vulnerabilities found", when the index has no
# per-version JSON (this machine's PyPI mirror): nothing was looked up.
NOT_FOUND = {
    "dependencies": [
        {
            "name": "pillow",
            "skip_reason": "Dependency not found on PyPI and could not be audited: pillow (13.0.0)",
        }
    ],
    "fixes": [],
}
OFFLINE_STDERR = (
    "Traceback (most recent call last):\n  ...\nrequests.exceptions.ConnectionError: HTTPSConnectionPool("
    "host='pypi.org', port=443): Max retries exceeded (Caused by NameResolutionError(...))"
)


def test_clean_report() -> None:
    outcome = deps_audit.classify(0, json.dumps(CLEAN), "", {})
    assert outcome.kind == "clean" and outcome.audited == 1
    assert outcome.line().startswith("audit: clean: 1 packages")


def test_vulnerability_fails_unless_acknowledged() -> None:
    outcome = deps_audit.classify(1, json.dumps(VULNERABLE), "", {})
    assert outcome.kind == "vulnerable"
    assert "jinja2==3.1.2 GHSA-h5c8-rqwp-cp95 (fixed in 3.1.3)" in outcome.line()
    acknowledged = deps_audit.classify(1, json.dumps(VULNERABLE), "", {"CVE-2024-22195": "not reachable"})
    assert acknowledged.kind == "clean" and acknowledged.acknowledged


def test_a_report_where_nothing_was_looked_up_is_not_a_pass() -> None:
    """pip-audit exits 0 here; the wrapper must not."""
    outcome = deps_audit.classify(0, json.dumps(NOT_FOUND), "No known vulnerabilities found", {})
    assert outcome.kind == "not audited" and outcome.unaudited == ["pillow"]
    assert "NOT AUDITED" in outcome.line() and "not found on PyPI" in outcome.line()


def test_unreachable_service_is_not_a_pass() -> None:
    outcome = deps_audit.classify(1, "", OFFLINE_STDERR, {})
    assert outcome.kind == "not audited" and "NameResolutionError" in outcome.reason


def test_acknowledgements_expire_and_need_a_reason() -> None:
    text = "# comment\nGHSA-1 2026-12-31 dev-only tool, never bundled\nGHSA-2 2020-01-01 old excuse\n"
    assert deps_audit.acknowledged(text, date(2026, 6, 1)) == {"GHSA-1": "dev-only tool, never bundled"}
    assert deps_audit.acknowledged(text, date(2027, 1, 1)) == {}
    with pytest.raises(ValueError):
        deps_audit.acknowledged("GHSA-3 2026-12-31\n", date(2026, 1, 1))


def test_exit_status(monkeypatch: pytest.MonkeyPatch) -> None:
    for kind, lenient, strict in (("clean", 0, 0), ("vulnerable", 1, 1), ("not audited", 0, 2)):
        monkeypatch.setattr(deps_audit, "audit", lambda kind=kind: deps_audit.Outcome(kind))
        assert (deps_audit.main([]), deps_audit.main(["--strict"])) == (lenient, strict), kind


def test_every_lock_file_is_audited() -> None:
    command = deps_audit.pip_audit_command()
    locks = [command[i + 1] for i, arg in enumerate(command) if arg == "-r"]
    assert [p.rsplit("/", 1)[-1] for p in locks] == ["dev.lock", "lambda.txt"]
    assert "--no-deps" in command and "--disable-pip" in command  # the pins as written, no resolution


@pytest.mark.slow
def test_locked_dependencies_have_no_known_vulnerabilities() -> None:
    """The real audit. Without a reachable vulnerability database this is reported as skipped, by name."""
    outcome = deps_audit.audit(attempts=1)
    assert outcome.kind != "vulnerable", outcome.line()
    if outcome.kind == "not audited":
        warnings.warn(outcome.line(), stacklevel=1)
        pytest.skip(outcome.line())
