"""The architecture in docs/architecture.md, checked: every arrow between top-level packages is
one the map allows, and no module imports itself back through others (lazy imports included)."""

from __future__ import annotations

import collections
import sys

import grimp
import pytest

# package -> the packages it may import (docs/architecture.md, "The arrows"); nothing else.
ALLOWED = {
    "cli": {"app"},
    "limits": set(),  # request size limits every HTTP surface shares (a leaf module)
    "untrusted": set(),  # decoding untrusted JSON and text once for every layer (a leaf module)
    "app": {"admin", "arm", "authz", "fabric", "identity", "network", "portal", "resources", "store", "limits"},
    "admin": {"arm", "authz", "identity", "resources", "store", "limits"},
    "portal": {"identity"},
    "network": {"arm", "authz", "fabric", "identity", "resources", "store"},
    "resources": {"arm", "authz", "identity", "store"},
    "arm": {"authz", "identity", "store", "limits", "untrusted"},
    "authz": {"identity", "store"},
    "identity": {"store", "limits", "untrusted"},
    "fabric": {"store"},
    "store": {"untrusted"},
    "testing": set(),  # a client of the server over HTTPS and the `crossconnect` command only
}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("crossconnect")


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_arrow_between_packages_is_allowed(graph: grimp.ImportGraph) -> None:
    wrong = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            source, target = _package(module), _package(imported)
            if source and target and source != target and target not in ALLOWED.get(source, set()):
                wrong.append(f"{module} -> {imported}")
    assert wrong == []


def test_every_package_is_on_the_map(graph: grimp.ImportGraph) -> None:
    packages = {_package(m) for m in graph.modules} - {""}
    assert packages == set(ALLOWED)


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = iter(range(sys.maxsize))

    def visit(module: str) -> None:
        index[module] = low[module] = next(counter)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_back(graph: grimp.ImportGraph) -> None:
    assert _cycles(graph) == []


def test_the_cycle_check_can_fail() -> None:
    graph = grimp.ImportGraph()
    for name in ("pkg", "pkg.a", "pkg.b"):
        graph.add_module(name)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.a")
    assert _cycles(graph) == [["pkg.a", "pkg.b"]]


def test_network_families_have_the_same_shape() -> None:
    """Each resource family with resource types has its bodies and its resource_types modules."""
    families = collections.defaultdict(set)
    graph = grimp.build_graph("crossconnect")
    for module in graph.modules:
        parts = module.split(".")
        if len(parts) == 4 and parts[1] == "network":
            families[parts[2]].add(parts[3])
    for family in (
        "circuits",
        "cross_connections",
        "peerings",
        "route_filters",
        "virtual_networks",
        "public_ips",
        "gateways",
        "connections",
    ):
        assert {"bodies", "resource_types"} <= families[family], family
