"""The package's stages import only what comes before them: no import cycle anywhere in csbp."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "generator" / "csbp"


def _module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: Path) -> dict[str, set[str]]:
    """Each module of the package and the package modules it imports, anywhere in its code
    (function-local imports included)."""
    files = {_module_name(path, package): path for path in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                imported |= {base} | {f"{base}.{alias.name}" for alias in node.names}
        graph[name] = {target for target in imported if target in files and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle met by a depth-first walk, each as the modules along it."""
    state: dict[str, str] = {}
    found: list[list[str]] = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                found.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return found


def test_the_generator_package_has_no_import_cycle():
    graph = import_graph(PACKAGE)
    assert "csbp.render" in graph and "csbp.model" in graph["csbp.render"]
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle_through_a_function_local_import(tmp_path):
    package = tmp_path / "csbp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "render.py").write_text("from csbp.site import build\n")
    (package / "site.py").write_text("def build():\n    from csbp import render\n    return render\n")
    assert cycles(import_graph(package)) == [["csbp.render", "csbp.site", "csbp.render"]]
