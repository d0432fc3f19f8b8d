"""The tests' one style: every test states its Given, When and Then in its docstring."""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
WORDS = ("Given", "When", "Then")


def _tests_of(body: list[ast.stmt], prefix: str = "") -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    found: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []
    for node in body:
        if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            found += _tests_of(node.body, f"{prefix}{node.name}.")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
            found.append((f"{prefix}{node.name}", node))
    return found


def _missing_words(docstring: str) -> list[str]:
    return [word for word in WORDS if not re.search(rf"\b{word}\b", docstring)]


def test_every_test_says_given_when_then_in_its_docstring() -> None:
    """Given every tests/**/test_*.py module
    When each test function and Test class method is read with ast
    Then its docstring holds the words Given, When and Then, and each one that does not is named."""
    offenders = []
    for path in sorted(TESTS.rglob("test_*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for name, node in _tests_of(tree.body):
            missing = _missing_words(ast.get_docstring(node) or "")
            if missing:
                where = f"{path.relative_to(TESTS.parent)}:{node.lineno}"
                offenders.append(f"{where} {name} lacks {', '.join(missing)}")
    assert not offenders, "tests without a Given/When/Then docstring:\n" + "\n".join(offenders)


def test_the_check_finds_tests_in_functions_and_classes() -> None:
    """Given a module with a test function, a Test class method and a helper
    When its tests are listed and their docstrings checked
    Then both tests are found, the helper is not, and a docstring lacking a word is reported with that word."""
    tree = ast.parse(
        "def test_a():\n    '''Given x\n    When y\n    Then z'''\n"
        "class TestB:\n    def test_c(self):\n        '''Given x then When y'''\n"
        "def helper():\n    pass\n"
    )
    found = {name: ast.get_docstring(node) or "" for name, node in _tests_of(tree.body)}
    assert sorted(found) == ["TestB.test_c", "test_a"]
    assert _missing_words(found["test_a"]) == []
    assert _missing_words(found["TestB.test_c"]) == ["Then"]
