"""The package's layers point one way, and its surfaces stay small.

Layers, lowest first (kg/README.md draws them): a module may import modules
of its own layer and of the layers below, never of a layer above. Every import
counts, including those inside functions (most of the old cycle hid there) and
under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

KG = Path(__file__).resolve().parent.parent / "kg"

LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("kg.errors", "kg.namespaces", "kg.project", "kg.fileio", "kg.registry",
              "kg.sparqltext", "kg.sparql", "kg.progress", "kg.links", "kg.boundedjson",
              "kg.names", "kg.licence")),
    ("store", ("kg.store",)),
    ("formats", ("kg.formats",)),
    ("features", ("kg.queries", "kg.validation", "kg.exports", "kg.publish", "kg.statistics",
                  "kg.description", "kg.article", "kg.timeline", "kg.documentation",
                  "kg.reconciliation", "kg.wikidata", "kg.notes", "kg.dataset",
                  "kg.release", "kg.citation", "kg.units", "kg.sources", "kg.querylint",
                  "kg.search", "kg.extension")),
    ("web", ("kg.web",)),
    ("cli", ("kg.cli", "kg.completion")),
    # the package itself re-exports the library's functions (by import_module strings)
    ("package", ("kg",)),
]  # fmt: skip


def modules(root: Path) -> dict[str, Path]:
    """Every module of the package at ``root`` by dotted name."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = (root.name, *path.relative_to(root).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(name: str, path: Path, known: set[str]) -> dict[str, int]:
    """The package's modules that ``name`` imports, anywhere in it, with the first line."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            # "from kg.web import pages" imports the module kg.web.pages
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                       for a in node.names]
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            # a module named in a string (import_module(NAME), a table of lazy exports)
            targets = [node.value] if node.value in known and "." in node.value else []
        for target in targets:
            while target and target not in known:  # a name inside a module: the module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.setdefault(target, node.lineno)
    return found


def layer_of(name: str, layers: list[tuple[str, tuple[str, ...]]]) -> int | None:
    best: tuple[int, int] | None = None
    for i, (_, prefixes) in enumerate(layers):
        for p in prefixes:
            # the root package ("kg") is its own module only; other names cover their subtree
            inside = name == p or ("." in p and name.startswith(p + "."))
            if inside and (best is None or len(p) > best[1]):
                best = (i, len(p))
    return None if best is None else best[0]


def violations(root: Path, layers: list[tuple[str, tuple[str, ...]]]) -> list[str]:
    """Every import that points up a layer, and every module that is in no layer."""
    mods = modules(root)
    problems = []
    for name, path in mods.items():
        mine = layer_of(name, layers)
        if mine is None:
            problems.append(f"{name} is in no layer: add it to LAYERS and kg/README.md")
            continue
        for target, line in sorted(imports(name, path, set(mods)).items()):
            theirs = layer_of(target, layers)
            if theirs is not None and theirs > mine:
                problems.append(
                    f"{path.relative_to(root.parent)}:{line}: {name} ({layers[mine][0]}) "
                    f"imports {target} ({layers[theirs][0]}), a layer above"
                )
    return problems


def cycles(root: Path) -> list[list[str]]:
    """Strongly connected groups of more than one module (import cycles)."""
    mods = modules(root)
    graph = {n: set(imports(n, p, set(mods))) for n, p in mods.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_imports_point_down_the_layers() -> None:
    assert violations(KG, LAYERS) == []


def test_the_web_layer_uses_the_store_through_its_interface() -> None:
    """kg.web reads the graph through kg.store (open_engine, graph_file, the result types),
    never an engine's or the loader's own module."""
    mods = modules(KG)
    inside = [f"{mods[name].relative_to(KG.parent)}:{line}: {target}"
              for name in mods if name.startswith("kg.web")
              for target, line in imports(name, mods[name], set(mods)).items()
              if target.startswith("kg.store.")]  # fmt: skip
    assert inside == []


def test_features_do_not_borrow_from_each_other() -> None:
    """A module of one feature package uses another's internals only through a base module
    (kg.queries once borrowed fold from kg.wikidata.records)."""
    mods = modules(KG)
    features = ("kg.wikidata",)
    borrowed = [f"{mods[name].relative_to(KG.parent)}:{line}: {target}"
                for name in mods if layer_of(name, LAYERS) == 3
                for target, line in imports(name, mods[name], set(mods)).items()
                for f in features
                if target.startswith(f + ".") and not name.startswith(f)]  # fmt: skip
    assert borrowed == []


def test_no_import_cycles() -> None:
    assert cycles(KG) == []


def test_the_contract_fails_on_an_import_that_points_up(tmp_path) -> None:
    pkg = tmp_path / "kg"
    (pkg / "web").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "web" / "__init__.py").write_text("")
    (pkg / "web" / "pages.py").write_text("X = 1\n")
    (pkg / "cli.py").write_text("from kg.web import pages\n")
    # the old cycle's way: an import inside a function, from the core up into the web layer
    (pkg / "errors.py").write_text("def f():\n    from kg.web.pages import X\n    return X\n")
    (pkg / "stray.py").write_text("")
    problems = violations(tmp_path / "kg", LAYERS)
    assert problems == [
        "kg/errors.py:2: kg.errors (base) imports kg.web.pages (web), a layer above",
        "kg.stray is in no layer: add it to LAYERS and kg/README.md",
    ]
    (pkg / "web" / "pages.py").write_text("from kg import errors\n")
    assert cycles(tmp_path / "kg") == [["kg.errors", "kg.web.pages"]]


def test_the_readme_names_every_module() -> None:
    readme = (KG / "README.md").read_text(encoding="utf-8")
    for name in modules(KG):
        if name != "kg":
            short = name.removeprefix("kg.").replace(".", "/")
            assert f"`{short}" in readme, f"kg/README.md does not mention {short}"


def _long_functions(paths: list[Path], limit: int) -> list[str]:
    out = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                length = node.end_lineno - start + 1  # type: ignore[operator]
                if length > limit:
                    where = f"{path.relative_to(KG.parent)}:{start}"
                    out.append(f"{where} {node.name} ({length} lines)")
    return out


@pytest.mark.parametrize("where", ["web", "cli"])
def test_surface_functions_stay_short(where) -> None:
    target = KG / where
    paths = sorted(target.rglob("*.py")) if target.is_dir() else [target]
    assert _long_functions(paths, 60) == []


def test_an_installed_kg_has_every_package() -> None:
    """pyproject.toml names (or finds) every package under kg/: a missing one is there in an
    editable install, which maps the source tree, and absent from a wheel (kg.cli was)."""
    import tomllib

    from setuptools import find_packages

    root = KG.parent
    conf = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    packages = conf["tool"]["setuptools"]["packages"]
    if isinstance(packages, list):
        shipped = set(packages)
    else:
        find = packages["find"]
        shipped = set(find_packages(where=str(root), include=find.get("include", ["*"]),
                                    exclude=find.get("exclude", ())))
    on_disk = {".".join(p.parent.relative_to(root).parts) for p in KG.rglob("__init__.py")}
    assert on_disk - shipped == set()
