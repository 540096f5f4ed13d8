"""Fail on any import cycle between the project's modules (``python tools/check_import_cycles.py``).

Every ``import`` counts — at module level and inside functions — because a cycle hidden behind a
function-level import is still a cycle (the issue #13 loops were all of that kind). Imports under
``if TYPE_CHECKING:`` do not count (they never run). Tests, migrations and virtualenvs are skipped.
``from pkg import name`` counts as importing ``pkg.name`` when that is a module of the project, else ``pkg``.
Exit status 0: no cycle; 1: each cycle is printed as ``a -> b -> ... -> a``.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

DEFAULT_ROOTS = ("core", "rollout", "training", "planning", "feedback")
SKIP_PARTS = {"tests", "migrations", ".venv", "__pycache__"}


def module_name(path: Path, base: Path) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def discover(base: Path, roots: Iterable[str]) -> dict[str, Path]:
    """Module name → file, for every module under the roots (tests and migrations excluded)."""
    modules: dict[str, Path] = {}
    for root in roots:
        for path in sorted((base / root).rglob("*.py")):
            if SKIP_PARTS & set(path.relative_to(base).parts):
                continue
            modules[module_name(path, base)] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                yield from _import_nodes(ast.Module(body=[child], type_ignores=[]))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _import_nodes(node)


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest project module that ``name`` is or lies inside."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            resolved = _resolve(target, modules)
            if resolved is not None and resolved != module:
                found.add(resolved)
                if not isinstance(node, ast.Import) and target != base:
                    break  # ``from pkg import mod``: the submodule is the dependency, not pkg's __init__ as well
    return found


def import_graph(base: Path, roots: Iterable[str]) -> dict[str, set[str]]:
    modules = discover(base, roots)
    return {module: imports_of(module, path, modules) for module, path in modules.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (or a module importing itself), as one
    concrete cycle each (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return [_a_cycle(component, graph) for component in components]


def _a_cycle(component: list[str], graph: dict[str, set[str]]) -> list[str]:
    """One concrete loop through the component's first module (breadth-first, so the shortest)."""
    members = set(component)
    start = component[0]
    paths: dict[str, list[str]] = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(graph[node] & members):
            if child == start:
                return [*paths[node], start]
            if child not in paths:
                paths[child] = [*paths[node], child]
                queue.append(child)
    return [*component, start]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="*", default=list(DEFAULT_ROOTS), help="top-level packages to check")
    parser.add_argument("--base", default=".", help="the directory holding the packages")
    args = parser.parse_args(argv)
    base = Path(args.base).resolve()
    roots = [root for root in args.roots if (base / root).is_dir()]
    cycles = find_cycles(import_graph(base, roots))
    for cycle in cycles:
        print("import cycle: " + " -> ".join(cycle))
    if cycles:
        print(f"{len(cycles)} import cycle(s); break them (see README, Architecture)", file=sys.stderr)
        return 1
    print(f"no import cycle in {', '.join(roots)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
