"""The layout keeps what docs/architecture.md promises a newcomer (the layers themselves: `lint-imports`)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("integration_hub", "connectors", "mapping", "reconciliation")
MAX_LINES = 600


def product_files() -> list[Path]:
    files = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "migrations" in parts or parts[:2] == ("connectors", "sandbox"):
                continue  # migrations are snapshots; the emulators are a test and demo tool, not the product
            files.append(path)
    return files


def test_the_product_files_are_found():
    names = {str(path.relative_to(ROOT)) for path in product_files()}
    assert "integration_hub/sync/engine.py" in names and "connectors/base.py" in names
    assert not any("/migrations/" in name or name.startswith("connectors/sandbox/") for name in names)


@pytest.mark.parametrize("path", product_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_product_file_is_longer_than_600_lines(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by concern"


def _reason_above(lines: list[str], first: int) -> bool:
    """A comment heading the run of imports (and blank lines) this import belongs to."""
    for line in reversed(lines[:first - 1]):
        text = line.strip()
        if text.startswith("#"):
            return True
        if text and not text.startswith(("import ", "from ")):
            return False
    return False


def unexplained_function_imports(source: str) -> list[int]:
    """Line numbers of imports inside a function with no comment on their line or the line above."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, (ast.Import, ast.ImportFrom)):
                first, last = inner.lineno, inner.end_lineno or inner.lineno
                said = any("#" in lines[i - 1] for i in range(first, last + 1))
                if not (said or _reason_above(lines, first)):
                    found.append(first)
    return sorted(set(found))


def test_the_import_check_finds_an_unexplained_import_and_accepts_a_reason():
    source = ("def f():\n    import os\n\ndef g():\n    import sys  # loaded late: Celery\n\n"
              "def h():\n    # loaded late: the app registry\n    import os\n\n    import sys\n\n"
              "def k():\n    x = 1\n    import os\n")
    assert unexplained_function_imports(source) == [2, 15]


def test_every_import_inside_a_function_says_why():
    unexplained = [f"{path.relative_to(ROOT)}:{line}" for path in product_files()
                   for line in unexplained_function_imports(path.read_text())]
    assert not unexplained, ("imports inside functions without a one-line reason (move them to the top of the "
                             "module, or say why they cannot be there):\n" + "\n".join(unexplained))
