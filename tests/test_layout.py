"""The layout shows the architecture (docs/architecture.md): ``kb/`` is packages by stage, each
importing only the stages below it (answers -> lessons -> retrieval -> store), and no module of
``kb/`` or ``ingest/`` is part of an import cycle. Read from the source with ``ast``, so an
import inside a function counts; one under ``if TYPE_CHECKING:`` (a type named in a hint) does
not."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# the stages, lowest first; a module of a stage imports only its own stage and those below it.
# The foundations (settings, types, text) are below every stage; the faces (the CLI, the app,
# the API, the evals, the public API and ingest) may import any stage.
STAGES = {
    "kb.settings": 0,
    "kb.types": 0,
    "kb.text": 0,
    "kb.store": 1,
    "kb.retrieval": 2,
    "kb.knowledge_base": 2,  # the store with its derived index: what retrieval searches
    "kb.lessons": 3,
    "kb.answers": 4,
}
FACE = 5
MOST_TOP_LEVEL_MODULES = 8


def _modules() -> dict[str, Path]:
    found = {}
    for path in [*(ROOT / "kb").rglob("*.py"), *(ROOT / "ingest").rglob("*.py")]:
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``path`` imports when it runs."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hints = {
        id(node)
        for branch in ast.walk(tree)
        if isinstance(branch, ast.If) and "TYPE_CHECKING" in ast.unparse(branch.test)
        for inner in branch.body
        for node in ast.walk(inner)
    }
    out = set()
    for node in ast.walk(tree):
        if id(node) in hints:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:  # "from kb.evals import qa" imports kb.evals.qa
                name = f"{node.module}.{alias.name}"
                out.add(name if name in modules else node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return {name for name in out if name in modules}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def stage(module: str) -> int:
    for prefix, rank in STAGES.items():
        if module == prefix or module.startswith(prefix + "."):
            return rank
    return FACE


def test_kb_holds_at_most_eight_modules_beside_its_packages():
    top = sorted(p.name for p in (ROOT / "kb").glob("*.py"))
    assert len(top) <= MOST_TOP_LEVEL_MODULES, top
    for package in ("store", "retrieval", "lessons", "answers", "evals", "ui", "api"):
        assert (ROOT / "kb" / package / "__init__.py").is_file(), package


def test_each_stage_imports_only_the_stages_below_it(graph):
    upward = [
        f"{module} -> {imported}"
        for module, imports in graph.items()
        for imported in imports
        if stage(module) < FACE
        and (
            stage(imported) > stage(module)
            # a stage's neighbours at the same rank are not its own: knowledge_base is the
            # only module that shares retrieval's rank, and it is retrieval's
            or (stage(imported) == stage(module) > 0 and _package(imported) != _package(module))
        )
    ]
    assert not upward, upward


def _package(module: str) -> str:
    return "kb.retrieval" if module == "kb.knowledge_base" else ".".join(module.split(".")[:2])


def test_no_module_is_part_of_an_import_cycle(graph):
    cycles = _cycles(graph)
    assert not cycles, cycles


def test_the_checker_sees_a_cycle_and_an_upward_import():
    # the checks above can fail: a made-up graph with both faults is caught
    made_up = {"kb.store.a": {"kb.answers.b"}, "kb.answers.b": {"kb.store.a"}}
    assert _cycles(made_up) == [["kb.answers.b", "kb.store.a"]]
    assert stage("kb.answers.b") > stage("kb.store.a")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_import_of_a_project_module_resolves():
    # a module moved between packages leaves no import of its old place behind, even one inside
    # a function that no other test reaches
    modules = _modules()
    missing = []
    for path in [*modules.values(), *(ROOT / "tests").glob("*.py"), *(ROOT / "bench").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                module, names = node.module, [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                module, names = None, [alias.name for alias in node.names]
            else:
                continue
            for name in names if module is None else [module]:
                if name.split(".")[0] in ("kb", "ingest") and name not in modules:
                    missing.append(f"{path.name}: {name}")
            if module is None or module not in modules:
                continue
            loaded = importlib.import_module(module)
            missing += [
                f"{path.name}: {module}.{name}"
                for name in names
                if not hasattr(loaded, name) and f"{module}.{name}" not in modules
            ]
    assert not missing, missing
