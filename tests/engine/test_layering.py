"""The layout's rules, checked on the source: no import circle, arrows that point one way.

- engine imports nothing from vigor_lsp; vigor_lsp imports only the `engine` facade;
- no agent imports the assembly code (engine.api), the loop, the run tools or the CLI;
- the code that runs in the sandbox child imports only the standard library and its own package;
- no circle among engine's modules (imports inside functions count too).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHILD_SIDE = ("oracle", "batch", "isolation", "child_tests", "checks", "matching", "entry", "worker")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Absolute module names `path` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out: set[str] = set()
    typing_only = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING"
        for n in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:  # imports for type checkers only never run
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.add(name)
            out.update(f"{name}.{a.name}" for a in node.names)  # `from engine.loop import steps`
    return out


def _graph(package: str) -> dict[str, set[str]]:
    files = {_module(p): p for p in (ROOT / package).rglob("*.py")}
    return {mod: {i for i in _imports(path) if i in files and i != mod} for mod, path in files.items()}


def test_engine_has_no_import_circle() -> None:
    graph = _graph("engine")
    graph["engine"] = set()  # the facade's names are imported lazily (TYPE_CHECKING and __getattr__)
    seen: dict[str, int] = {}
    stack: list[str] = []

    def visit(mod: str) -> None:
        seen[mod] = 1
        stack.append(mod)
        for dep in sorted(graph.get(mod, ())):
            if seen.get(dep) == 1:
                raise AssertionError("import circle: " + " -> ".join([*stack[stack.index(dep) :], dep]))
            if dep not in seen:
                visit(dep)
        stack.pop()
        seen[mod] = 2

    for mod in sorted(graph):
        if mod not in seen:
            visit(mod)


def test_engine_never_imports_the_editor_server() -> None:
    for path in (ROOT / "engine").rglob("*.py"):
        assert not any(i.startswith("vigor_lsp") for i in _imports(path)), path


def test_the_editor_server_uses_only_the_engine_facade() -> None:
    import engine

    allowed = {"engine"} | {f"engine.{name}" for name in engine.__all__}  # `from engine import X`
    for path in (ROOT / "vigor_lsp").rglob("*.py"):
        deep = sorted(i for i in _imports(path) if i.split(".")[0] == "engine" and i not in allowed)
        assert not deep, (path.name, deep)


def test_agents_do_not_import_the_assembly_the_loop_or_the_run_tools() -> None:
    banned = ("engine.api", "engine.loop", "engine.runs", "engine.cli")
    for path in (ROOT / "engine" / "agents").rglob("*.py"):
        bad = sorted(i for i in _imports(path) if i.startswith(banned))
        assert not bad, (path, bad)


def test_child_side_code_imports_only_the_standard_library_and_its_own_package() -> None:
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for name in CHILD_SIDE:
        path = ROOT / "engine" / "execution" / f"{name}.py"
        for i in _imports(path):
            top = i.split(".")[0]
            assert top in stdlib or i.startswith("engine.execution"), (path.name, i)
