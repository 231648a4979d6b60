"""The import layers of docs/ARCHITECTURE.md ("Layers"), checked on the source with `ast`.

The program (__main__.py, stacks/, components/) runs under `pulumi up` on a machine that need not carry the offline
tool, and must mean the same with or without it: it imports neither preflight nor the tests or benchmarks. What the
program and preflight both need (the price table, the machine catalog, the Kubernetes support table) sits in a
neutral module each may import; the region table is the client package's, of which they import that module alone.
The client and the policy pack are installed and run on their own and import none of the project. Every import
counts, wherever it stands in a file (a function's lazy import too).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import get_args

import pytest

from components.target import Cloud

ROOT = Path(__file__).resolve().parent.parent

_PROJECT = frozenset({"preflight", "stacks", "components", "pricing", "tests", "benchmarks"})

# Where (a folder or a file of the project) -> the top-level packages it must not import, and why.
FORBIDDEN: dict[str, tuple[frozenset[str], str]] = {
    "__main__.py": (frozenset({"preflight", "tests", "benchmarks"}), "the program knows nothing of the offline tool"),
    "stacks": (frozenset({"preflight", "tests", "benchmarks"}), "the program knows nothing of the offline tool"),
    "components": (
        frozenset({"preflight", "stacks", "pricing", "tests", "benchmarks"}),
        "components take what they need in their Args, prices included, and never reach up",
    ),
    "pricing": (
        frozenset({"preflight", "stacks", "tests", "benchmarks"}),
        "the price table is neutral: the program and preflight both import it",
    ),
    "preflight": (frozenset({"tests", "benchmarks"}), "the offline tool runs without the test suite"),
    "client/src": (_PROJECT, "the client is installed on its own, with no Pulumi and none of the project"),
    "policies/__main__.py": (_PROJECT, "the policy pack runs in its own process on pulumi-policy alone"),
    "policies/rules": (_PROJECT, "the policy pack runs in its own process on pulumi-policy alone"),
}


def _sources(where: str, root: Path = ROOT) -> list[Path]:
    path = root / where
    return [path] if path.is_file() else sorted(path.rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every absolute import in the file; relative imports stay inside their package."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def violations(where: str, forbidden: frozenset[str], root: Path = ROOT) -> list[str]:
    """`file:line imports module` for each import of a forbidden package under `where`."""
    return [
        f"{path.relative_to(root).as_posix()}:{line} imports {module}"
        for path in _sources(where, root)
        for line, module in _imports(path)
        if module.split(".")[0] in forbidden
    ]


@pytest.mark.parametrize("where", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_it_must_not(where: str) -> None:
    assert _sources(where), f"{where}: no Python source found (moved? update FORBIDDEN)"
    forbidden, why = FORBIDDEN[where]
    found = violations(where, forbidden)
    assert not found, f"{why}:\n" + "\n".join(found)


# The program and preflight take one module from the client package: the region table it ships as package data
# (data/regions.toml, through mlplatform_client.regions), so GlobalDns, the stack config, the drill and the client
# route by one table. Never the client's network code: the program makes no requests, and the client stays free
# to change it.
CLIENT_TABLE = "mlplatform_client.regions"


@pytest.mark.parametrize("where", ["__main__.py", "stacks", "components", "pricing", "preflight"])
def test_the_program_and_preflight_take_only_the_region_table_from_the_client(where: str) -> None:
    reached = [
        f"{path.relative_to(ROOT).as_posix()}:{line} imports {module}"
        for path in _sources(where)
        for line, module in _imports(path)
        if module.split(".")[0] == "mlplatform_client" and module != CLIENT_TABLE
    ]
    assert not reached, f"only {CLIENT_TABLE} of the client package:\n" + "\n".join(reached)


def test_the_check_names_file_and_line(tmp_path: Path) -> None:
    """A lazy `from preflight...` inside a function is caught, and the message points at it."""
    program = tmp_path / "stacks"
    program.mkdir()
    (program / "alerts.py").write_text(
        "import json\n\n\ndef prices():\n    from preflight.cost import price_plan\n    return price_plan\n"
    )
    (program / "ok.py").write_text("from . import alerts\nimport stacks.alerts\n")
    assert violations("stacks", FORBIDDEN["stacks"][0], tmp_path) == ["stacks/alerts.py:5 imports preflight.cost"]


def _module_name(path: Path, root: Path = ROOT) -> str:
    return ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")


def import_cycles(package: str, root: Path = ROOT) -> list[list[str]]:
    """Cycles among one package's own modules (a TYPE_CHECKING import counts: it is how a circle gets hidden)."""
    modules = {_module_name(path, root): path for path in _sources(package, root)}
    edges = {
        name: sorted({module for _, module in _imports(path) if module in modules and module != name})
        for name, path in modules.items()
    }
    cycles: list[list[str]] = []
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            cycles.append([*trail[trail.index(name) :], name])
            return
        if name in done:
            return
        for following in edges[name]:
            visit(following, [*trail, name])
        done.add(name)

    for name in sorted(modules):
        visit(name, [])
    return cycles


@pytest.mark.parametrize(
    "component", sorted(p.name for p in (ROOT / "components").iterdir() if (p / "__init__.py").is_file())
)
def test_a_components_modules_import_each_other_in_no_circle(component: str) -> None:
    """Data types and shared constants live in the component's contract, which imports none of its siblings."""
    cycles = import_cycles(f"components/{component}")
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_the_cycle_check_sees_a_circle_hidden_behind_type_checking(tmp_path: Path) -> None:
    package = tmp_path / "components" / "thing"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "contract.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from components.thing.tls import Settings\n"
    )
    (package / "tls.py").write_text("from components.thing.contract import NAME\n")
    assert import_cycles("components/thing", tmp_path) == [
        ["components.thing.contract", "components.thing.tls", "components.thing.contract"]
    ]


def test_serving_reads_the_gpu_nodes_convention_from_the_neutral_scheduling_contract() -> None:
    """GpuCluster puts the taints and labels on its nodes, ServingStack tolerates and selects them: both read
    components/scheduling.py, and the serving stack imports nothing of GpuCluster but its contract."""
    reached = [
        f"{path.relative_to(ROOT).as_posix()}:{line} imports {module}"
        for path in _sources("components/serving_stack")
        for line, module in _imports(path)
        if module.startswith("components.gpu_cluster") and module != "components.gpu_cluster.contract"
    ]
    assert not reached, "\n".join(reached)


# Each component's table of per-cloud modules (components/per_cloud.py) and what those modules provide.
PER_CLOUD_TABLES = {
    "components.audit": ("IMPLEMENTATIONS", "build"),
    "components.gpu_cluster": ("IMPLEMENTATIONS", "build"),
    "components.model_bucket": ("IMPLEMENTATIONS", "build"),
    "components.registry": ("IMPLEMENTATIONS", "build"),
    "components.metadata_db": ("IMPLEMENTATIONS", "build"),
    "components.serving_stack": ("READER_IDENTITIES", "bind"),
}


@pytest.mark.parametrize("package", sorted(PER_CLOUD_TABLES))
def test_a_component_picks_its_cloud_from_one_table_of_modules_with_every_cloud(package: str) -> None:
    table_name, entry = PER_CLOUD_TABLES[package]
    table = getattr(importlib.import_module(package), table_name)
    assert set(table) == set(get_args(Cloud))
    for cloud, module in table.items():
        assert module.startswith(f"{package}."), f"{package}: {cloud} -> {module}"
        assert callable(getattr(importlib.import_module(module), entry)), f"{module}.{entry}"


def test_components_pick_their_cloud_one_way() -> None:
    """Only components/per_cloud.py imports by name; a component's __init__ names its modules in its table."""
    by_name = [
        f"{path.relative_to(ROOT).as_posix()}:{line}"
        for path in sorted((ROOT / "components").glob("*/__init__.py"))
        for line, module in _imports(path)
        if module == "importlib"
    ]
    assert not by_name, "\n".join(by_name)
    # and every component with one module per cloud has such a table
    per_cloud = {f"components.{path.parent.name}" for path in (ROOT / "components").glob("*/aws.py")}
    assert per_cloud <= set(PER_CLOUD_TABLES)
