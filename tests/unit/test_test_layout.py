"""The tests' own layout: shared helpers live in tests/support; conftests hold fixtures only; no file of the
tests imports a test module or a conftest."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.support.paths import REPO

TESTS = REPO / "tests"
#: A dotted name that is a conftest or a test module (``tests.x.conftest``, ``tests.x.test_y``, ``conftest``).
FORBIDDEN = re.compile(r"(^|\.)(conftest|test_\w+)$")


def imported_names(tree: ast.AST, module: str) -> list[str]:
    """Every dotted name a module imports (``from a import b`` gives ``a`` and ``a.b``; relative resolved)."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: -node.level]
                base = ".".join([*package, *([base] if base else [])])
            names += [base, *(f"{base}.{alias.name}" for alias in node.names)]
    return [n for n in names if n]


def forbidden_imports(source: str, module: str) -> list[str]:
    """The test modules and conftests that ``source`` (the module ``module``) imports."""
    tree = ast.parse(source)
    return sorted(
        {n for n in imported_names(tree, module) if FORBIDDEN.search(n) and n.split(".")[0] in ("tests", n)}
    )


def is_fixture(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
    return name in ("fixture", "yield_fixture")


def public_helpers(source: str) -> list[str]:
    """A conftest's public top-level functions and classes that are neither fixtures nor pytest hooks."""
    return [
        node.name
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and not node.name.startswith(("_", "pytest_"))
        and not any(is_fixture(d) for d in node.decorator_list)
    ]


def module_name(path: Path) -> str:
    """``tests.unit.test_x``; a package's ``__init__`` keeps its last part, so ``from . import`` resolves."""
    return ".".join(path.relative_to(REPO).with_suffix("").parts)


SOURCES = sorted(TESTS.rglob("*.py"))
CONFTESTS = [p for p in SOURCES if p.name == "conftest.py"]


def test_the_files_are_found() -> None:
    assert len(SOURCES) > 40 and TESTS / "conftest.py" in CONFTESTS


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(TESTS)))
def test_no_file_imports_a_test_module_or_a_conftest(path: Path) -> None:
    assert forbidden_imports(path.read_text(), module_name(path)) == [], (
        "move what is shared to tests/support/ (or a fixture to the nearest common conftest)"
    )


@pytest.mark.parametrize("path", CONFTESTS, ids=lambda p: str(p.relative_to(TESTS)))
def test_conftests_hold_fixtures_only(path: Path) -> None:
    assert public_helpers(path.read_text()) == [], "helpers that tests use belong in tests/support/"


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("from tests.workflow.conftest import jpeg_bytes", ["tests.workflow.conftest"]),
        ("import tests.integration.test_api as api", ["tests.integration.test_api"]),
        ("from tests.integration import test_api", ["tests.integration.test_api"]),
        ("from tests import conftest", ["tests.conftest"]),
        ("from .conftest import Stack", ["tests.integration.conftest"]),
        ("from . import test_api", ["tests.integration.test_api"]),
        ("import conftest", ["conftest"]),
        ("def f():\n    from tests.reliability.conftest import about", ["tests.reliability.conftest"]),
        ("from tests.support.images import jpeg_bytes", []),
        ("from tests.fuzz import engine\nfrom tests import deps_audit", []),
        ("from _pytest.tmpdir import TempPathFactory\nimport test_helpers_of_a_library.test_x", []),
    ],
)
def test_the_import_check_catches_each_form(source: str, found: list[str]) -> None:
    assert forbidden_imports(source, "tests.integration.test_x") == found


def test_the_conftest_check_catches_helpers() -> None:
    source = """
import pytest

@pytest.fixture
def stack(): ...

@pytest.fixture(scope="session")
def cloud(): ...

def _private(): ...

def pytest_configure(config): ...

def jpeg_bytes(): ...

class Stack: ...
"""
    assert public_helpers(source) == ["jpeg_bytes", "Stack"]
