"""The house's layout holds: dependencies run one way between the apps, and no modules import each other
in a circle. Every import counts, at the top of a module or inside a function.

    slaportal (kit: settings, Celery app, roles, publishing ...)  <- imports no app
    agreements  <- leads  <- reporting  <- integrations  <- demo
    slaportal.urls (the URL root) may import every app; no app imports it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("slaportal", "agreements", "leads", "reporting", "integrations", "demo")
# What each app may import besides itself; the domain apps hear of integrations only through
# slaportal.publishing, which integrations connects to.
MAY_IMPORT = {
    "slaportal": set(),
    "agreements": {"slaportal"},
    "leads": {"slaportal", "agreements"},
    "reporting": {"slaportal", "agreements", "leads"},
    "integrations": {"slaportal", "agreements", "leads", "reporting"},
    "demo": {"slaportal", "agreements", "leads", "reporting", "integrations"},
}
URL_ROOTS = {"slaportal.urls"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    modules = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                modules[module_name(path)] = path
    return modules


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules that `name` imports (`from a import b` counts as a.b when a.b is a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base]).strip(".")
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(name, path, set(modules)) for name, path in modules.items()}


def test_apps_import_only_downwards(graph):
    wrong = []
    for name, targets in graph.items():
        app = name.split(".")[0]
        for target in targets:
            other = target.split(".")[0]
            if target in URL_ROOTS:
                wrong.append(f"{name} imports the URL root {target}")
            elif name not in URL_ROOTS and other != app and other not in MAY_IMPORT[app]:
                wrong.append(f"{name} imports {target}")
    assert wrong == []


def test_no_modules_import_each_other_in_a_circle(graph):
    circles = []
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                circles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert circles == []


def test_the_publishing_hook_is_heard():
    from slaportal.publishing import happened, happened_many, notice

    assert happened.has_listeners()
    assert happened_many.has_listeners()
    assert notice.has_listeners()


def test_every_lead_event_is_written_by_the_transition_core():
    core = ROOT / "leads" / "services" / "transitions.py"
    writers = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in project_modules().values()
        if path != core
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"(?<!class )\bLeadEvent(\(|\.objects\.(create|bulk_create|get_or_create))", line)
    ]
    assert writers == []


def test_the_lead_domain_holds_no_integration_plumbing():
    plumbing = {"tokens", "webhooks", "idempotency", "outbox", "netguard", "api", "serializers"}
    assert {path.stem for path in (ROOT / "leads").rglob("*.py")} & plumbing == set()


def test_no_module_of_the_apps_is_a_maze():
    # About 450 lines at most: past that a module holds two jobs and should be split by them.
    long = {
        name: lines
        for name, path in project_modules().items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 470
    }
    assert long == {}
