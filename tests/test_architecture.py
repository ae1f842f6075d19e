"""The shape the data flows through stays visible: the core never imports an SDK."""

from __future__ import annotations

import ast
from pathlib import Path

import bot

PACKAGE = Path(bot.__file__).parent
CORE = ["model.py", "errors.py", "clock.py", "intake.py", "kql.py", "triage.py", "exitcodes.py", "config.py", "text.py",
        "evidence", "verdict", "respond", "review"]
SDK_PREFIXES = ("azure", "slack_sdk", "slack_bolt", "duckdb", "duckdb_kql", "bot.azure", "bot.emulator")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def core_files() -> list[Path]:
    files: list[Path] = []
    for entry in CORE:
        path = PACKAGE / entry
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


def test_core_modules_never_import_slack_azure_or_the_emulator() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(m for m in imported_modules(path) if m.startswith(SDK_PREFIXES))
        for path in core_files()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_production_code_never_imports_the_emulator() -> None:
    allowed = {"scenario_mode.py", "demo.py", "cli.py"}
    offenders = [
        str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
        if "emulator" not in path.parts and path.name not in allowed
        and any(m.startswith("bot.emulator") for m in imported_modules(path))
    ]
    assert offenders == []


def test_tests_and_demo_never_construct_default_azure_credential() -> None:
    # Its managed-identity probe goes to 169.254.169.254, off loopback.
    root = PACKAGE.parent
    hits = [str(p) for p in [*root.glob("tests/**/*.py"), *root.glob("bench/**/*.py"), PACKAGE / "demo.py",
                             PACKAGE / "scenario_mode.py"]
            if "DefaultAzureCredential(" in p.read_text() and p.name != "test_architecture.py"]
    assert hits == []


# Imports follow the data: intake -> evidence -> verdict -> respond -> (slack, state). A module may import
# its own layer and those before it, never one after it.
LAYERS = {"evidence": 1, "verdict": 2, "respond": 3, "slack": 4}
FEATURES = ("bot.alerts", "bot.checklists", "bot.reviews")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def bot_imports() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for imported in imported_names(path):
            # `from bot.x import y` names bot.x.y when y is a module, else bot.x
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                found.add(imported)
        graph[name] = found
    return graph


def imported_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


def test_no_layer_imports_a_later_one() -> None:
    climbs = sorted(f"{m} -> {i}" for m, imports in bot_imports().items() for i in imports
                    if layer(m) is not None and layer(i) is not None and layer(i) > layer(m))  # type: ignore[operator]
    assert climbs == []


def test_the_slack_adapter_never_reaches_into_a_feature() -> None:
    reaches = sorted(f"{m} -> {i}" for m, imports in bot_imports().items() if m.startswith("bot.slack")
                     for i in imports if i.startswith(FEATURES))
    assert reaches == []


def test_no_import_cycles_between_modules() -> None:
    graph = bot_imports()
    # Module-level imports only would be stricter; any import in the file counts here, so a deferred import
    # cannot hide a circle either.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    assert cycles == []
