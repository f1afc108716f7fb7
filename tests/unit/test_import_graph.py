"""The import graph of mock_server has no cycle, type-only imports included."""

from __future__ import annotations

import grimp


def _cycle(graph: grimp.ImportGraph, modules: list[str]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = 1
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in modules:
                continue
            if state.get(imported) == 1:
                return [*path, imported]
            if imported not in state and (found := visit(imported, [*path, imported])):
                return found
        state[module] = 2
        return None

    for module in modules:
        if module not in state and (found := visit(module, [module])):
            return found
    return None


def test_no_module_of_mock_server_imports_itself_back() -> None:
    graph = grimp.build_graph("mock_server")
    # The package itself re-exports create_app and Settings for users; it is nobody's import.
    modules = sorted(m for m in graph.modules if m != "mock_server")
    assert len(modules) > 50
    assert _cycle(graph, modules) is None
