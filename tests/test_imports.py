"""Imports go one way: each module may import only its own layer and the layers below,
and only the command line imports Click. Lazy imports inside functions count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "medmassage"

# Lowest first. A module's layer is its first-level name inside the package.
LAYERS: tuple[frozenset[str], ...] = tuple(
    frozenset(names.split())
    for names in (
        "__init__ errors kinds codesets yamlio ecma schema_loader schemas signature store workers",
        "chart",
        "care",
        "rules",
        "validate explain checks judging",
        "documents render charting query export gate",
        "report",
        "cli __main__",
    )
)


def layer_of(name: str) -> int:
    """The layer of `medmassage.<name>...` (name without the package prefix)."""
    head = name.split(".", 1)[0]
    for number, names in enumerate(LAYERS):
        if head in names:
            return number
    raise AssertionError(f"medmassage.{head} is in no layer: add it to LAYERS in {__file__}")


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def imported(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) for every import in a module, at any depth."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative imports are banned (ruff TID252)"
            base = node.module or ""
            if base == "medmassage":  # from medmassage import schema_loader: the submodule
                found.extend((node.lineno, _submodule(alias.name)) for alias in node.names)
            else:
                found.append((node.lineno, base))
    return found


def _submodule(name: str) -> str:
    """`from medmassage import NAME`: the submodule NAME, or the package's own __init__."""
    is_module = (PACKAGE / f"{name}.py").exists() or (PACKAGE / name).is_dir()
    return f"medmassage.{name}" if is_module else "medmassage.__init__"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down(path: Path) -> None:
    own = module_name(path)
    mine = layer_of(own)
    upward = [
        f"{path.name}:{line}: {own} (layer {mine}) imports {name} (layer {layer_of(name[11:])})"
        for line, name in imported(ast.parse(path.read_text(encoding="utf-8")))
        if name.startswith("medmassage.") and layer_of(name[11:]) > mine
    ]
    assert not upward, "\n".join(upward)


def test_only_the_command_line_imports_click() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)}:{line}"
        for path in modules()
        if path.relative_to(PACKAGE).parts[0] not in ("cli", "cli.py")
        for line, name in imported(ast.parse(path.read_text(encoding="utf-8")))
        if name == "click" or name.startswith("click.")
    ]
    assert not offenders


def test_the_checker_sees_an_upward_import() -> None:
    tree = ast.parse("def f():\n    from medmassage.cli import main\n")
    assert imported(tree) == [(2, "medmassage.cli")]
    assert layer_of("cli") > layer_of("store.cache")
