"""The shape the code keeps: no import circles, storage behind the Workbook protocol, click in cli.py only.

Read from the source with ``ast`` (every import, also those inside a function or under
TYPE_CHECKING), so a circle or a shortcut is found before it bites at run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "pipeline"
#: the backends' own modules: only pipeline/workbook/ may import them
BACKENDS = {"pipeline.workbook.google", "pipeline.workbook.google_http", "pipeline.workbook.local",
            "pipeline.workbook.xlsx"}


def _module(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every ``pipeline`` module ``path`` imports (a name imported from a package counts as its module
    when there is one)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {i for i in _imports(path) if i in files and i != name} for name, path in files.items()}


def test_no_module_imports_itself_through_others():
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    circles: list[list[str]] = []

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for other in sorted(graph[name]):
            if state.get(other) == 1:
                circles.append([*path[path.index(other):], other])
            elif other not in state:
                visit(other, [*path, other])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []


def test_the_graph_sees_imports_inside_functions_and_type_checking_blocks():
    """The circle test is only as good as the imports it finds."""
    graph = _graph()
    assert "pipeline.sync" in graph["pipeline.report"]  # a top-level import
    assert "pipeline.sync" in graph["pipeline.history"]  # under TYPE_CHECKING
    assert "pipeline.workbook.google" in graph["pipeline.workbook.factory"]  # inside a function


def test_only_the_storage_package_knows_the_backends():
    graph = _graph()
    outside = {name: sorted(graph[name] & BACKENDS) for name in graph if not name.startswith("pipeline.workbook")}
    assert {name: found for name, found in outside.items() if found} == {}


def test_click_lives_in_cli_only():
    users = sorted(_module(p) for p in PACKAGE.rglob("*.py") if any(
        i == "click" or i.startswith("click.") for i in _imports(p)))
    assert users == ["pipeline.cli"]


#: getattr outside pipeline/workbook/, each for a reason that is not asking an object what it is
NAMED_FIELDS = {
    "pipeline.config": "a settings field named in a list (SURVEY_IDENTITY)",
    "pipeline.render": "a dataclass's fields by name; jinja's lineno, which only some TemplateErrors carry",
    "pipeline.sample": "the config's column names, field by field",
    "pipeline.unchanged": "a summary dataclass's fields by name, hashed",
}


def test_no_stage_probes_an_object_with_getattr():
    """What a stage needs of storage is a method of the Workbook protocol, not a guess."""
    using = {
        _module(p) for p in PACKAGE.rglob("*.py")
        if "pipeline/workbook/" not in p.as_posix() and "getattr(" in p.read_text(encoding="utf-8")
    }
    assert using == set(NAMED_FIELDS)
