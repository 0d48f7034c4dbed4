"""The package's shape, checked: no module over 500 lines, no function over 60 lines.

Complexity (ruff's C901, at most 15) is checked by ``make lint``; these two limits ruff has no
rule for.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "dbt_lambda_sync"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def modules() -> list[Path]:
    """Every module of the package."""
    return sorted(PACKAGE.rglob("*.py"))


def functions(path: Path) -> list[tuple[str, int]]:
    """Each function of ``path`` (methods as ``Class.name``) with its length in lines."""
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                assert child.end_lineno is not None
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                found.append((f"{prefix}{child.name}", child.end_lineno - first + 1))
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")

    visit(ast.parse(path.read_text()), "")
    return found


def name(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def test_no_module_is_over_500_lines() -> None:
    long = {
        name(path): lines
        for path in modules()
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, long


def test_no_function_is_over_60_lines() -> None:
    long = {
        f"{name(path)}:{function}": lines
        for path in modules()
        for function, lines in functions(path)
        if lines > MAX_FUNCTION_LINES
    }
    assert not long, long


def test_every_core_module_is_under_the_no_screen_contract() -> None:
    """The import contract lists the core by hand: a new module must join it, not escape it."""
    tomllib = __import__("tomllib")  # Python 3.11+: the suite runs there
    config = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    (no_screen,) = [c for c in contracts if "click" in c["forbidden_modules"]]
    listed = set(no_screen["source_modules"])
    core = {
        "dbt_lambda_sync." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        for path in modules()
        if path.relative_to(PACKAGE).parts[0] != "cli" and path.name != "__init__.py"
    }
    unlisted = {m for m in core if not any(m == s or m.startswith(s + ".") for s in listed)}
    assert not unlisted, f"add to the first import-linter contract in pyproject.toml: {unlisted}"
