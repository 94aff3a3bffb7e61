"""The package's import graph, read from its source with :mod:`ast` (nothing is imported).

Every ``import`` statement counts, including the ones inside functions: a late import is still
a dependency, it only hides a circle from the interpreter. ``from .pkg import name`` is an edge
to the submodule ``pkg.name`` when there is one, else to ``pkg`` (its ``__init__``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path


def module_names(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of the package."""
    root = package_dir.parent
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _absolute(module: str, is_package: bool, level: int, target: str | None) -> str:
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _imports(module: str, path: Path) -> Iterator[tuple[str, tuple[str, ...]]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, is_package, node.level, node.module) if node.level else node.module or ""
            yield target, tuple(alias.name for alias in node.names)


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    modules = module_names(package_dir)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for target, names in _imports(name, path):
            submodules = {f"{target}.{imported}" for imported in names} & modules.keys()
            graph[name] |= submodules
            if target in modules and (not names or len(submodules) < len(names)):
                graph[name].add(target)
        graph[name].discard(name)
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph.get(node, ()):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_of(module: str, layers: Mapping[str, int]) -> int | None:
    """The rank of the longest prefix of ``module`` named in ``layers``."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in layers:
            return layers[prefix]
    return None


def upward_imports(graph: Mapping[str, set[str]], layers: Mapping[str, int]) -> list[tuple[str, str]]:
    """Edges from a module to one of a higher layer (a layer may import its own or lower ones)."""
    upward = []
    for source, targets in sorted(graph.items()):
        source_layer = layer_of(source, layers)
        for target in sorted(targets):
            target_layer = layer_of(target, layers)
            if source_layer is not None and target_layer is not None and target_layer > source_layer:
                upward.append((source, target))
    return upward
