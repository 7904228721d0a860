"""The local runtime's layout: its packages import only the ones below them, so no import circles."""

from __future__ import annotations

import ast
from pathlib import Path

import jobu_local

PACKAGE_DIR = Path(jobu_local.__file__).parent
# Each package may import itself and the ones after it in this list, never one before it.
LAYERS = ("commands", "admin", "runtime", "dashboard", "aws", "template", "host", "errors")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every jobu_local module a file imports, at module level or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("jobu_local"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("jobu_local"))
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in PACKAGE_DIR.rglob("*.py")}
    return {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_module_lives_in_one_of_the_layers() -> None:
    loose = sorted(name for name in _graph() if _layer(name) is None)
    assert loose == ["jobu_local", "jobu_local.__main__"]


def test_no_package_imports_a_package_above_it() -> None:
    upward = [
        (module, imported)
        for module, imports in _graph().items()
        for imported in imports
        if (mine := _layer(module)) is not None and (theirs := _layer(imported)) is not None and theirs < mine
    ]
    assert upward == []


def test_no_import_circles_between_modules() -> None:
    graph = _graph()
    visiting: list[str] = []
    done: set[str] = set()
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        if module in visiting:
            circles.append([*visiting[visiting.index(module) :], module])
            return
        if module in done:
            return
        visiting.append(module)
        for imported in sorted(graph[module]):
            visit(imported)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
    assert circles == []
