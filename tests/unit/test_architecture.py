"""The layers hold: no import circle in the package; one place takes the lock, records history and maps errors
to exit codes; operations never reach the Docker SDK or nginx but through the seams."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import bluegreen

PACKAGE = Path(bluegreen.__file__).resolve().parent


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Every bluegreen module this file imports, at module level or inside a function, and every one it loads by
    name (`importlib.import_module("bluegreen.…")`: a hidden edge is still an edge). `from pkg import sub` is an
    edge to the submodule only (the package's own __init__ is kept light for that)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bluegreen"):
            subs = {f"{node.module}.{a.name}" for a in node.names}
            found.update(subs)
            if not subs <= modules:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("bluegreen"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in modules:
            found.add(node.value)  # a module named in a string: an importlib load, a lazy table
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and ":" in node.value and \
                node.value.split(":")[0] in modules:
            found.add(node.value.split(":")[0])  # "module:attr", as cli.py's lazy command table names them
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in _imports(path, set(files)) if m in files and m != name} for name, path in files.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _lines_matching(pattern: str) -> list[str]:
    regex = re.compile(pattern)
    return [f"{p.relative_to(PACKAGE)}:{i}" for p in sorted(PACKAGE.rglob("*.py"))
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if regex.search(line) and not line.lstrip().startswith("#")]


def test_no_import_circle():
    """No module imports one that (directly or not) imports it back, lazy imports included."""
    assert _cycle(_graph()) is None, " → ".join(_cycle(_graph()) or [])


def test_the_monitor_does_not_sit_above_the_deploy():
    """`deploy --monitor` composes the two at the command layer; monitor.py never imports the deploy."""
    assert "bluegreen.operations.deploy" not in _graph()["bluegreen.operations.monitor"]


def test_one_place_locks_records_and_maps_exit_codes():
    """The frame alone takes the lock and appends history; errors.py alone turns errors into exit codes."""
    assert {p.split(":")[0] for p in _lines_matching(r"\.acquire\(")} == {"operations/frame.py", "operations/run.py"}
    assert [p.split(":")[0] for p in _lines_matching(r"state\.record\(")] == ["operations/frame.py"]
    assert {p.split(":")[0] for p in _lines_matching(r"^\s+exit_code = \d|def exit_code_for")} == {"errors.py"}
    assert {p.split(":")[0] for p in _lines_matching(r"sys\.exit\(")} == {"cli/app.py"}


def test_operations_use_the_seams_not_the_outside_world():
    """No operation imports the Docker SDK, httpx, jinja2 or the nginx gate: they go through runtime, switch,
    health and the frame."""
    for name, deps in _graph().items():
        if name.startswith("bluegreen.operations."):
            assert not {d for d in deps if d.startswith("bluegreen.parts.engine")} | (
                deps & {"bluegreen.parts.nginx", "bluegreen.parts.render"}), name
    for path in (PACKAGE / "operations").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import|from) (docker|httpx|jinja2)\b", text, re.M), path.name


# Lowest first: a module imports only from its own layer or those below it (data flows down, never back up).
LAYERS = [
    ("foundation", ("bluegreen", "bluegreen.errors", "bluegreen.messages", "bluegreen.clock", "bluegreen.colors",
                    "bluegreen.units", "bluegreen.failpoints", "bluegreen.files", "bluegreen.output",
                    "bluegreen.report")),
    ("config", ("bluegreen.config",)),
    ("parts", ("bluegreen.parts",)),
    ("operations", ("bluegreen.operations", "bluegreen.quick", "bluegreen.checks")),
    ("commands", ("bluegreen.commands", "bluegreen.jenkins")),
    ("cli", ("bluegreen.cli", "bluegreen.__main__", "bluegreen.jenkins.cli", "bluegreen.jenkins.__main__")),
]


def _layer(module: str) -> int:
    """The highest layer whose prefix names the module (jenkins.cli is cli, the rest of jenkins commands)."""
    found = [i for i, (_, prefixes) in enumerate(LAYERS)
             for p in prefixes if module == p or (module.startswith(p + ".") and p != "bluegreen")]
    assert found, f"{module} is in no layer: add it to LAYERS"
    return max(found)


def test_no_import_up_the_layers():
    """config never imports parts, parts never operations, operations never commands, … (importlib loads and lazy
    imports included)."""
    up = [f"{m} ({LAYERS[_layer(m)][0]}) → {d} ({LAYERS[_layer(d)][0]})"
          for m, deps in sorted(_graph().items()) for d in sorted(deps) if _layer(d) > _layer(m)]
    assert not up, "\n".join(up)


def test_test_modules_have_unique_names():
    """pytest imports tests/ and tests/unit/ by basename (no packages): two files of one name break collection of
    the whole suite, which a run of one directory does not show."""
    tests = Path(__file__).resolve().parents[1]
    names = [p.name for p in (*tests.glob("test_*.py"), *(tests / "unit").glob("test_*.py"))]
    assert sorted({n for n in names if names.count(n) > 1}) == []
